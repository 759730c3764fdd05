/// Where a Redis server listens and how to log in to it, parsed from a URL.
///
/// Accepted forms:
/// - `redis://[[user]:password@]host[:port][/db]` — host may be a name, an IPv4 address or `[IPv6]`;
///   the user and password may be percent-encoded.
/// - `unix:///path/to/redis.sock[?db=N]` — with optional `user` and `password` query items too.
///
/// `rediss://` (TLS) is refused: libhiredis 0.14 has no TLS support.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The transport part of an endpoint.
    public enum Address: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    /// The ACL user for `AUTH user password`; `nil` logs in as `default` (or with a password only).
    public var user: String?
    public var password: String?
    /// The logical database to `SELECT` on connect; `0` needs no `SELECT`.
    public var database: Int

    public static let defaultPort = 6379

    public init(address: Address, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.address = address
        self.user = user
        self.password = password
        self.database = database
    }

    /// A TCP endpoint.
    public static func tcp(
        host: String = "127.0.0.1", port: Int = defaultPort, user: String? = nil, password: String? = nil,
        database: Int = 0
    ) -> RedisEndpoint {
        RedisEndpoint(address: .tcp(host: host, port: port), user: user, password: password, database: database)
    }

    /// A unix-socket endpoint.
    public static func unix(path: String, user: String? = nil, password: String? = nil, database: Int = 0)
        -> RedisEndpoint
    {
        RedisEndpoint(address: .unix(path: path), user: user, password: password, database: database)
    }

    /// Parses a `redis://` or `unix://` URL.
    ///
    /// - Parameter url: the URL text.
    /// - Throws: `RedisError` with code `.invalidEndpoint`, whose message names the part that is wrong.
    public init(url: String) throws(RedisError) {
        func bad(_ what: String) -> RedisError {
            // With credentials in it, the likeliest cause is a character of the password read as part of the URL.
            let credentials = url.contains("@") || url.contains("%")
            return RedisError(
                .invalidEndpoint,
                "invalid Redis URL '\(url)': \(what)" + (credentials ? "; \(Self.percentEncodingAdvice)" : ""))
        }
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw bad("it has no scheme; write redis://host:port or unix:///path/to/socket")
        }
        let scheme = url[..<colon].lowercased()
        let rest = String(url[url.index(colon, offsetBy: 3)...])
        switch scheme {
        case "redis":
            try self.init(redisURLRest: rest, bad: bad)
        case "unix":
            try self.init(unixURLRest: rest, bad: bad)
        case "rediss":
            throw bad(
                "TLS (rediss://) is not supported by libhiredis 0.14; use redis:// on a trusted network or a TLS tunnel"
            )
        default:
            throw bad("unknown scheme '\(scheme)'; use redis:// or unix://")
        }
    }

    private init(redisURLRest rest: String, bad: (String) -> RedisError) throws(RedisError) {
        // Split off the path (database) first, then credentials, then host and port.
        var authority = Substring(rest)
        var path: Substring = ""
        if let query = authority.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw bad(
                "query and fragment ('\(authority[query...])') are not supported; put the database in the path, as /db")
        }
        if let slash = authority.firstIndex(of: "/") {
            path = authority[authority.index(after: slash)...]
            authority = authority[..<slash]
        }
        var user: String?
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let rawUser = credentials[..<colon]
                let rawPassword = credentials[credentials.index(after: colon)...]
                guard let u = Self.percentDecoded(rawUser) else { throw bad("the user name has a bad percent-escape") }
                guard let p = Self.percentDecoded(rawPassword) else {
                    throw bad("the password has a bad percent-escape")
                }
                user = u.isEmpty ? nil : u
                password = p
            } else {
                // redis://secret@host is the common password-only form (as redis-py reads it).
                guard let p = Self.percentDecoded(credentials) else {
                    throw bad("the password has a bad percent-escape")
                }
                password = p
            }
        }
        var host: String
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw bad("the IPv6 address has no closing ']'") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw bad("unexpected '\(after)' after the IPv6 address") }
                portText = after.dropFirst()
            }
            guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw bad("'\(host)' is not an IPv6 address")
            }
        } else {
            if let colon = authority.firstIndex(of: ":") {
                host = String(authority[..<colon])
                portText = authority[authority.index(after: colon)...]
            } else {
                host = String(authority)
            }
            guard !host.isEmpty else { throw bad("the host is missing") }
            guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" }) else {
                throw bad("'\(host)' is not a valid host name")
            }
        }
        var port = Self.defaultPort
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw bad("the port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }
        var database = 0
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else { throw bad("the database '\(path)' is not a non-negative number") }
            database = db
        }
        self.init(address: .tcp(host: host, port: port), user: user, password: password, database: database)
    }

    private init(unixURLRest rest: String, bad: (String) -> RedisError) throws(RedisError) {
        var pathPart = Substring(rest)
        var query: Substring = ""
        if let q = pathPart.firstIndex(of: "?") {
            query = pathPart[pathPart.index(after: q)...]
            pathPart = pathPart[..<q]
        }
        var user: String?
        var password: String?
        // unix://[user:password@]/path
        if let at = pathPart.firstIndex(of: "@"), !pathPart.hasPrefix("/") {
            let credentials = pathPart[..<at]
            pathPart = pathPart[pathPart.index(after: at)...]
            let pieces = credentials.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let u = Self.percentDecoded(pieces[0]) else { throw bad("the user name has a bad percent-escape") }
            if pieces.count == 2 {
                guard let p = Self.percentDecoded(pieces[1]) else { throw bad("the password has a bad percent-escape") }
                user = u.isEmpty ? nil : u
                password = p
            } else {
                password = u
            }
        }
        guard pathPart.hasPrefix("/"), pathPart.count > 1 else {
            throw bad("the socket path must be absolute, as in unix:///run/redis/redis.sock")
        }
        guard let path = Self.percentDecoded(pathPart) else { throw bad("the socket path has a bad percent-escape") }
        var database = 0
        for item in query.split(separator: "&") where !item.isEmpty {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = kv.count == 2 ? Self.percentDecoded(kv[1]) : nil
            switch kv[0] {
            case "db":
                guard let value, let db = Int(value), db >= 0 else {
                    throw bad("the database '\(kv.count == 2 ? kv[1] : "")' is not a non-negative number")
                }
                database = db
            case "password":
                guard let value else { throw bad("the password query item has no value") }
                password = value
            case "user":
                guard let value else { throw bad("the user query item has no value") }
                user = value
            default:
                throw bad("unknown query item '\(kv[0])'; only db, user and password are understood")
            }
        }
        self.init(address: .unix(path: path), user: user, password: password, database: database)
    }

    /// What to do when a user name or password holds a character that means something in a URL.
    public static let percentEncodingAdvice =
        "if the user name or password holds @, %, :, /, ?, # or a space, percent-encode it (%40, %25, %3A, %2F, %3F, %23, %20)"

    /// The `user:***@` part of a URL, the password masked; empty without credentials.
    static func maskedCredentials(user: String?, password: String?) -> String {
        switch (user, password) {
        case (nil, nil): ""
        case (let u?, nil): "\(u)@"
        case (let u, _?): "\(u ?? ""):***@"
        }
    }

    /// The endpoint as a URL with the password masked, for messages and logs.
    public var description: String {
        let credentials = Self.maskedCredentials(user: user, password: password)
        switch address {
        case .tcp(let host, let port):
            let h = host.contains(":") ? "[\(host)]" : host
            return "redis://\(credentials)\(h):\(port)" + (database == 0 ? "" : "/\(database)")
        case .unix(let path):
            return "unix://\(credentials)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// The address alone (`host:port` or the socket path), for error messages.
    public var addressDescription: String {
        switch address {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): path
        }
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let hi = iterator.next().flatMap(hexValue), let lo = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(hi << 4 | lo)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
