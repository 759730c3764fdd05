extension RedisConnection {
    /// Whether the server runs in cluster mode (`INFO cluster` says `cluster_enabled:1`): such a server serves only
    /// its own hash slots, so talk to it with ``RedisClusterClient``.
    ///
    /// - Returns: `true` for a cluster node.
    /// - Throws: `RedisError` as ``send(_:)``.
    public func isClusterEnabled() throws(RedisError) -> Bool {
        let info = try send("INFO", "cluster").string ?? ""
        return info.split(whereSeparator: \.isNewline).contains { $0 == "cluster_enabled:1" }
    }
}
