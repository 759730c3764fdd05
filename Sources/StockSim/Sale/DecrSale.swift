import Hiredis

/// DECRBY per SKU; compensating INCRBYs when one went below zero; the ledger written after kept decrements. Never
/// oversells, but its ledger write is not atomic with the decrement.
struct DecrSale: SaleStrategy {
    let keys: SaleKeys

    /// A lost DECRBY reply cannot be resolved: nothing records it until the ledger write that follows.
    var canVerify: Bool { false }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        let units = RedisArgument(order.units)
        for (taken, sku) in order.skus.enumerated() {
            let reply = try connection.send(RedisCommand("DECRBY", keys.stock[sku], units))
            guard let left = reply.int else { throw RedisError(.protocolError, "DECRBY answered \(reply)") }
            // The decision: a decrement that went below zero is refused, and every decrement of the order given back.
            if left < 0 {
                let replies = try connection.pipeline(
                    order.skus[...taken].map { RedisCommand("INCRBY", keys.stock[$0], units) })
                let remaining =
                    replies.map { $0.int ?? 0 }
                    + Array(repeating: Int64(order.units), count: order.skus.count - taken - 1)
                return .outOfStock(remaining: remaining, attempts: 1, conflicts: 0)
            }
        }
        if keys.recordsLedger { try record(order, on: connection) }
        return .sold(attempts: 1, conflicts: 0)
    }

    /// The ledger write after kept decrements. If the connection fails here the units are already taken: the worker
    /// reconnects within its budget and writes the entries once (`DecrLedgerWriteLost.complete`).
    private func record(_ order: Order, on connection: RedisConnection) throws {
        do {
            let replies = try connection.pipeline(keys.recordCommands(order))
            if let refusal = replies.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "HSETNX")
            }
        } catch let error as RedisError where error.closesConnection || error.isTransient || error.isClusterRedirect {
            // The units are taken: from here on only the ledger entry may be retried, never the decrement (also when
            // a cluster redirects the ledger write: its slot moved after the DECRBY).
            throw DecrLedgerWriteLost(order: order, cause: error)
        }
    }
}
