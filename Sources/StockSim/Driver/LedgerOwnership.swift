import Hiredis

/// A run replaces the ledger and run hash of an earlier StockSim run on the same key, and nothing else: a value at
/// those keys that StockSim did not write is refused, never deleted.
enum LedgerOwnership {
    /// Checks that `keys.ledger` and `keys.run` are missing, or hold what a StockSim run leaves: a hash ledger beside
    /// a run hash with `run_id` and `ledger_writes`.
    ///
    /// - Parameter keys: the run's keys (for a catalog, one group's ledger and run hash).
    /// - Throws: `SimulationError` `.badServerState` naming the key, what it holds and what to do; `RedisError` when
    ///   the keys cannot be read.
    static func check(_ keys: StockKeys, on connection: RedisConnection) throws {
        let replies = try connection.pipeline([
            RedisCommand("TYPE", RedisArgument(keys.ledger)), RedisCommand("TYPE", RedisArgument(keys.run)),
            RedisCommand("HMGET", RedisArgument(keys.run), "run_id", "ledger_writes"),
        ])
        for reply in replies.prefix(2) {
            if let refusal = reply.errorReply { throw RedisError.server(refusal, command: "TYPE") }
        }
        let ledgerType = replies[0].string ?? "none"
        let runType = replies[1].string ?? "none"
        func refuse(_ key: String, _ what: String) -> SimulationError {
            SimulationError(
                .badServerState,
                "the key '\(key)' \(what), not what a StockSim run leaves there; choose another --key, or delete it yourself if it is not needed (StockSim never deletes data it did not write)"
            )
        }
        guard ledgerType == "none" || ledgerType == "hash" else {
            throw refuse(keys.ledger, "holds a \(ledgerType)")
        }
        guard runType == "none" || runType == "hash" else { throw refuse(keys.run, "holds a \(runType)") }
        if runType == "hash" {
            let fields = replies[2].array ?? []
            guard fields.count == 2, fields.allSatisfy({ !$0.isNull && !$0.isError }) else {
                throw refuse(keys.run, "is a hash without run_id and ledger_writes")
            }
        } else if ledgerType == "hash" {
            throw refuse(keys.ledger, "is a hash with no run hash '\(keys.run)' beside it")
        }
    }
}
