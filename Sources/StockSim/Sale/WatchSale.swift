import Hiredis

/// WATCH the order's stock keys and read them (one round trip); if every SKU has enough units, MULTI / DECRBY per SKU
/// / ledger entries / EXEC, through the wrapper's transaction helper, which retries conflicts under the policy.
struct WatchSale: SaleStrategy {
    let keys: SaleKeys
    let policy: RetryPolicy
    /// Per SKU, for orders of one SKU (every order of a single-key run): its WATCH and GET, built once.
    private let oneKey: [OptimisticTransaction]
    /// Per SKU, then per order size from `smallest`: the DECRBY of a one-SKU order, alone in its array (what a
    /// transaction without a ledger queues), built once; empty when SKUs × sizes would be many.
    private let oneKeyDecrement: [[[RedisCommand]]]
    private let smallest: Int

    /// - Parameter watchesAhead: send each order's WATCH and GET behind the last EXEC
    ///   (``OptimisticTransaction/watchesAhead``), when there is one stock key: the next order's transaction is then
    ///   the same one (with several SKUs the next order's key is drawn, and the read sent ahead would mostly be for
    ///   another).
    init(keys: SaleKeys, policy: RetryPolicy, quantities: ClosedRange<Int> = 1...1, watchesAhead: Bool = false) {
        self.keys = keys
        self.policy = policy
        let ahead = watchesAhead && keys.stock.count == 1
        oneKey = keys.stock.map {
            var transaction = OptimisticTransaction(watching: [$0], read: RedisCommand("GET", $0), policy: policy)
            transaction.watchesAhead = ahead
            return transaction
        }
        smallest = quantities.lowerBound
        oneKeyDecrement =
            keys.stock.count * quantities.count > 4096
            ? []
            : keys.stock.map { stock in quantities.map { [RedisCommand("DECRBY", stock, RedisArgument($0))] } }
    }

    var canVerify: Bool { keys.recordsLedger }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        let transaction =
            order.skus.count == 1
            ? oneKey[order.skus[0]]
            : OptimisticTransaction(
                watching: order.skus.map { keys.stock[$0] }, read: keys.stockRead(order), policy: policy)
        var commands = oneKeyDecrement(order) ?? []
        if commands.isEmpty {
            commands.reserveCapacity(2 * order.skus.count + 1)
            for sku in order.skus {
                commands.append(RedisCommand("DECRBY", keys.stock[sku], RedisArgument(order.units)))
            }
        }
        keys.appendRecordCommands(order, to: &commands)
        // Only a retry after a lost reply asks the ledger.
        let check = verify && keys.recordsLedger ? keys.recordedCheck(order) : nil
        let result = try connection.run(transaction) { attempt throws -> TransactionDecision<[Int64]?> in
            var short = try keys.shortfall(attempt.read, of: order)
            // A first read sent ahead was taken behind the last order's EXEC, before this order began: a refusal is
            // decided on a read of its own (under the same WATCH).
            if short != nil, transaction.watchesAhead, attempt.number == 1 {
                short = try keys.shortfall(attempt.connection.send(keys.stockRead(order)), of: order)
            }
            // Under the same WATCH: every committed order changes its stock keys, so if the lost EXEC were still to
            // commit, this transaction would conflict and the next attempt would find the entry.
            if let check, try attempt.connection.send(check).int == 1 { return .abort(nil) }
            // The decision: sell when every SKU has the units, refuse with what they have otherwise.
            if let short { return .abort(short) }
            return .commit(commands, nil)
        }
        return try SaleOutcome(result, skus: order.skus.count)
    }

    /// The prebuilt DECRBY of a one-SKU order, if there is one for its size.
    private func oneKeyDecrement(_ order: Order) -> [RedisCommand]? {
        guard order.skus.count == 1, oneKeyDecrement.indices.contains(order.skus[0]) else { return nil }
        let sizes = oneKeyDecrement[order.skus[0]]
        return sizes.indices.contains(order.units - smallest) ? sizes[order.units - smallest] : nil
    }
}
