/// Where to find a Redis Cluster and how to log in to its nodes: one or more seed nodes and the credentials every node
/// shares, parsed from a `redis+cluster://` URL.
///
/// Form: `redis+cluster://[[user]:password@]host[:port][,host[:port]...][/0]`. A host may be a name, an IPv4 address
/// or `[IPv6]`; the user and password may be percent-encoded, as in `redis://`. A cluster has database 0 only, so a
/// path other than `/0` is refused.
public struct RedisClusterEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The nodes to ask for the slot map, in order; any one that answers is enough.
    public var seeds: [ClusterAddress]
    /// The ACL user for `AUTH user password` on every node; `nil` logs in as `default`.
    public var user: String?
    public var password: String?

    /// - Parameters:
    ///   - seeds: at least one node of the cluster.
    ///   - user: the ACL user of every node.
    ///   - password: the password of every node.
    public init(seeds: [ClusterAddress], user: String? = nil, password: String? = nil) {
        self.seeds = seeds
        self.user = user
        self.password = password
    }

    /// Parses a `redis+cluster://` URL.
    ///
    /// - Parameter url: the URL text.
    /// - Throws: `RedisError` `.invalidEndpoint`, whose message names the part that is wrong (the password masked).
    public init(url: String) throws(RedisError) {
        let scheme = "redis+cluster://"
        guard url.lowercased().hasPrefix(scheme) else {
            throw RedisError(
                .invalidEndpoint,
                "invalid Redis Cluster URL '\(Self.masked(url))': it must start with \(scheme), as in \(scheme)host:7000,host:7001"
            )
        }
        var authority = Substring(url.dropFirst(scheme.count))
        if let slash = authority.firstIndex(of: "/") {
            let path = authority[authority.index(after: slash)...]
            guard path.isEmpty || path == "0" else {
                throw RedisError(
                    .invalidEndpoint,
                    "invalid Redis Cluster URL '\(Self.masked(url))': a cluster has database 0 only, so '/\(path)' cannot be selected; drop the path"
                )
            }
            authority = authority[..<slash]
        }
        var credentials = ""
        if let at = authority.lastIndex(of: "@") {
            credentials = String(authority[...at])
            authority = authority[authority.index(after: at)...]
        }
        var seeds: [ClusterAddress] = []
        var user: String?
        var password: String?
        for piece in authority.split(separator: ",", omittingEmptySubsequences: false) {
            // Each seed is read as a redis:// URL, so host, port and credentials follow exactly the same rules.
            let endpoint: RedisEndpoint
            do {
                endpoint = try RedisEndpoint(url: "redis://\(credentials)\(piece)")
            } catch {
                let reason = error.message.firstRange(of: "': ").map { String(error.message[$0.upperBound...]) }
                throw RedisError(
                    .invalidEndpoint,
                    "invalid Redis Cluster URL '\(Self.masked(url))': seed '\(piece)': \(reason ?? error.message)")
            }
            guard case .tcp(let host, let port) = endpoint.address else { continue }
            seeds.append(ClusterAddress(host: host, port: port))
            user = endpoint.user
            password = endpoint.password
        }
        self.init(seeds: seeds, user: user, password: password)
    }

    /// The endpoint of one node, with the shared credentials.
    ///
    /// - Parameter address: the node.
    public func endpoint(_ address: ClusterAddress) -> RedisEndpoint {
        .tcp(host: address.host, port: address.port, user: user, password: password)
    }

    /// The URL with the password masked, for messages and logs.
    public var description: String {
        "redis+cluster://\(RedisEndpoint.maskedCredentials(user: user, password: password))"
            + seeds.map(\.description).joined(separator: ",")
    }

    /// The URL with everything between `://` and the last `@` replaced, so no password reaches a message.
    private static func masked(_ url: String) -> String {
        guard let start = url.firstRange(of: "://")?.upperBound, let at = url.lastIndex(of: "@"), start < at else {
            return url
        }
        return url[..<start] + "***" + url[at...]
    }
}
