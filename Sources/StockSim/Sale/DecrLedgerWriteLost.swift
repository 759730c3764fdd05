import Hiredis

/// `decr` took the units but the connection failed before its ledger entries were confirmed.
struct DecrLedgerWriteLost: Error {
    var order: Order
    var cause: RedisError

    /// Writes the entries that are not there yet (HSETNX), and counts the writes this call made.
    ///
    /// - Returns: true when this call wrote every entry.
    /// - Throws: `RedisError` when Redis cannot be written.
    func complete(keys: SaleKeys, on connection: RedisConnection) throws -> Bool {
        let value = keys.entry(order)
        let replies = try connection.pipeline(
            order.skus.indices.map {
                RedisCommand("HSETNX", keys.ledger[order.group], keys.field(order, at: $0), value)
            })
        if let refusal = replies.lazy.compactMap(\.errorReply).first {
            throw RedisError.server(refusal, command: "HSETNX")
        }
        let written = replies.count { $0.int == 1 }
        if written > 0 {
            try connection.send(
                RedisCommand("HINCRBY", keys.run[order.group], "ledger_writes", RedisArgument(written)))
        }
        return written == order.skus.count
    }
}
