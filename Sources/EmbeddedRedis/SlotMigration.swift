public import Hiredis

/// A slot being moved from one master to another, begun by ``RedisClusterServer/beginMigration(of:to:)``: the
/// source is `MIGRATING`, the target `IMPORTING`. Between batches of ``moveKeys(limit:)`` the slot is in the state
/// clients see mid-migration: the source answers `ASK` for a key it no longer has, the target answers `MOVED` to a
/// client that did not send `ASKING`, and a multi-key command over keys on both sides gets `TRYAGAIN`.
public struct SlotMigration: Sendable {
    public let cluster: RedisClusterServer
    public let slot: HashSlot
    public let source: RedisClusterServer.Node
    public let target: RedisClusterServer.Node

    /// Moves up to `limit` of the slot's keys that are still on the source (`CLUSTER GETKEYSINSLOT`, then one
    /// `MIGRATE … KEYS …`).
    ///
    /// - Parameter limit: the most keys to move.
    /// - Returns: how many keys were moved; 0 when none were left.
    /// - Throws: `RedisError` when a command is refused.
    @discardableResult
    public func moveKeys(limit: Int = 100) throws(RedisError) -> Int {
        let connection = try cluster.connection(source)
        let keys =
            try connection.send("CLUSTER", "GETKEYSINSLOT", RedisArgument(slot.rawValue), RedisArgument(limit))
            .array ?? []
        guard !keys.isEmpty else { return 0 }
        var arguments: [RedisArgument] = [
            "MIGRATE", RedisArgument(target.address.host), RedisArgument(target.port), "", 0, 5000,
        ]
        arguments += cluster.migrateCredentials
        arguments.append("KEYS")
        arguments += keys.compactMap { $0.bytes.map(RedisArgument.bytes) }
        try connection.send(RedisCommand(arguments))
        return keys.count
    }

    /// Moves the keys that are left, then gives the slot to the target — `CLUSTER SETSLOT slot NODE target` on the
    /// target, the source and every other master, in that order — and waits until every node agrees.
    ///
    /// - Parameter timeout: the time allowed for every node to agree.
    /// - Throws: `RedisError` when a command is refused; `RedisClusterServer.OperationError` when the nodes do not
    ///   agree in time.
    public func finish(timeout: Duration = .seconds(10)) throws {
        while try moveKeys() > 0 {}
        let others = try cluster.masters().filter { $0.id != source.id && $0.id != target.id }
        for node in [target, source] + others {
            try cluster.connection(node).send(
                "CLUSTER", "SETSLOT", RedisArgument(slot.rawValue), "NODE", RedisArgument(target.id))
        }
        try cluster.waitUntil(ContinuousClock.now + timeout, "every node to see slot \(slot) on \(target)") {
            () throws(RedisError) in
            for node in cluster.nodes where node.isRunning {
                let map = try ClusterSlotMap(
                    clusterSlots: cluster.connection(node).send("CLUSTER", "SLOTS"), from: node.address)
                if map.master(for: slot)?.port != target.port { return "\(node) still sees it elsewhere" }
            }
            return nil
        }
    }
}
