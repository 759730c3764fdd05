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

    init(keys: SaleKeys, policy: RetryPolicy, quantities: ClosedRange<Int> = 1...1) {
        self.keys = keys
        self.policy = policy
        oneKey = keys.stock.map { OptimisticTransaction(watching: [$0], read: RedisCommand("GET", $0), policy: policy) }
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
            let short = try keys.shortfall(attempt.read, of: order)
            // Under the same WATCH: every committed order changes its stock keys, so if the lost EXEC were still to
            // commit, this transaction would conflict and the next attempt would find the entry.
            if let check, try attempt.connection.send(check).int == 1 { return .abort(nil) }
            // The decision: sell when every SKU has the units, refuse with what they have otherwise.
            if let short { return .abort(short) }
            return .commit(commands, nil)
        }
        return try SaleOutcome(result)
    }

    /// The prebuilt DECRBY of a one-SKU order, if there is one for its size.
    private func oneKeyDecrement(_ order: Order) -> [RedisCommand]? {
        guard order.skus.count == 1, oneKeyDecrement.indices.contains(order.skus[0]) else { return nil }
        let sizes = oneKeyDecrement[order.skus[0]]
        return sizes.indices.contains(order.units - smallest) ? sizes[order.units - smallest] : nil
    }
}
