import Hiredis

/// One way to take an order's units from the stock, bound to the run's keys and the commands it needs (built once
/// per worker). Every strategy handles orders of 1…K SKUs; the decision (enough of every SKU? sell or refuse) stands
/// in its `place`.
protocol SaleStrategy {
    /// Places one order on `connection`.
    ///
    /// - Parameter verify: the previous attempt at this order ended with an unknown outcome: check the ledger for
    ///   the order id before selling it again (strategies that can, do; see `canVerify`).
    /// - Throws: `RedisError` for connection and server failures; `StockKeyError` when a stock key is unusable;
    ///   `DecrLedgerWriteLost` when `decr` took the units but could not record them.
    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome

    /// True when an order whose reply was lost can be resolved by asking the ledger, so retrying it is safe.
    var canVerify: Bool { get }
}

extension Strategy {
    /// The implementation of this strategy over the run's keys.
    ///
    /// - Parameters:
    ///   - keys: the run's keys and fixed commands.
    ///   - policy: `watch`'s retry policy.
    ///   - scriptSHA: `lua`'s script, as the driver's SCRIPT LOAD returned it.
    ///   - quantities: the order sizes, for commands that can be built once per size.
    ///   - script: `script`'s user script (its SHA is `scriptSHA`).
    ///   - program: `command`'s user program.
    ///   - reportsLeft: the worker records its sales: `lua`'s script answers the stock left after each sale.
    func makeSale(
        keys: SaleKeys, policy: RetryPolicy, scriptSHA: String, quantities: ClosedRange<Int> = 1...1,
        script: UserScript? = nil, program: UserProgram? = nil, reportsLeft: Bool = false, watchesAhead: Bool = false
    ) -> any SaleStrategy {
        switch self {
        case .watch: WatchSale(keys: keys, policy: policy, quantities: quantities, watchesAhead: watchesAhead)
        case .lua: LuaSale(keys: keys, sha: scriptSHA, quantities: quantities, reportsLeft: reportsLeft)
        case .decr: DecrSale(keys: keys)
        case .unsafe: UnsafeSale(keys: keys)
        case .command:
            if let program { CommandSale(keys: keys, program: program) } else { UnsafeSale(keys: keys) }
        case .script: ScriptSale(keys: keys, script: script ?? UserScript(path: "", source: ""), sha: scriptSHA)
        }
    }
}
