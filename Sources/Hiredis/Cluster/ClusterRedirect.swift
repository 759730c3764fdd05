/// A `MOVED` or `ASK` error reply, parsed: `MOVED 3999 127.0.0.1:6381` says slot 3999 is served by that node from
/// now on; `ASK 3999 127.0.0.1:6381` says this one command should be sent there, after `ASKING`, because the slot is
/// being migrated and the key is no longer here.
public struct ClusterRedirect: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The slot has a new owner: update the slot map.
        case moved = "MOVED"
        /// The slot is migrating: retry once on the named node after `ASKING`, without changing the slot map.
        case ask = "ASK"
    }

    public var kind: Kind
    public var slot: HashSlot
    /// The node to go to. Its host is empty when the server does not know its own address (Redis 7 may then send
    /// `MOVED 3999 :6381`): the node is then on the host of the node that answered, see ``resolved(against:)``.
    public var address: ClusterAddress

    /// Parses an error reply; `nil` when it is neither a well-formed `MOVED` nor `ASK`.
    ///
    /// - Parameter reply: the error reply.
    public init?(_ reply: RedisErrorReply) {
        guard let kind = Kind(rawValue: reply.code) else { return nil }
        let parts = reply.message.split(separator: " ")
        guard parts.count == 2, let number = Int(parts[0]), let slot = HashSlot(number),
            let colon = parts[1].lastIndex(of: ":"), let port = Int(parts[1][parts[1].index(after: colon)...]),
            (1...65535).contains(port)
        else { return nil }
        var host = parts[1][..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        self.kind = kind
        self.slot = slot
        address = ClusterAddress(host: String(host), port: port)
    }

    /// The redirect with an empty host replaced by the host of the node that sent it.
    ///
    /// - Parameter sender: the node that answered with this redirect.
    public func resolved(against sender: ClusterAddress) -> ClusterRedirect {
        guard address.host.isEmpty || address.host == "?" else { return self }
        var resolved = self
        resolved.address = ClusterAddress(host: sender.host, port: address.port)
        return resolved
    }

    public var description: String { "\(kind.rawValue) \(slot) \(address)" }
}
