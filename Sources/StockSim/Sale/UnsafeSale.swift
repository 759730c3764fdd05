import Hiredis

/// GET then SET, with no WATCH: two workers that read the same value both sell the same units. Deliberately broken.
struct UnsafeSale: SaleStrategy {
    let keys: SaleKeys
    /// Per SKU, for orders of one SKU: its GET, built once.
    private let oneKey: [RedisCommand]

    init(keys: SaleKeys) {
        self.keys = keys
        oneKey = keys.stock.map { RedisCommand("GET", $0) }
    }

    var canVerify: Bool { false }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        let read = order.skus.count == 1 ? oneKey[order.skus[0]] : keys.stockRead(order)
        let remaining = try keys.stockValues(connection.send(read), of: order)
        // The decision, on a value that may be stale by the time the SETs land.
        guard remaining.allSatisfy({ $0 >= order.units }) else {
            return .outOfStock(remaining: remaining, attempts: 1, conflicts: 0)
        }
        let sets = zip(order.skus, remaining).map { sku, value in
            RedisCommand("SET", keys.stock[sku], RedisArgument(value - Int64(order.units)))
        }
        let replies = try connection.pipeline(sets + keys.recordCommands(order))
        if let refusal = replies.lazy.compactMap(\.errorReply).first {
            throw RedisError.server(refusal, command: "SET")
        }
        return .sold(attempts: 1, conflicts: 0, left: StockLeft(remaining.map { $0 - Int64(order.units) }))
    }
}
