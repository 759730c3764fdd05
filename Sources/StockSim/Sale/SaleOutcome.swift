import Hiredis

/// How one order ended.
enum SaleOutcome: Equatable {
    /// The units were taken (and recorded, with a ledger); `left` is the stock each SKU had right after, where the
    /// strategy learned it (the per-sale witness's evidence).
    case sold(attempts: Int, conflicts: Int, left: StockLeft = .unknown)
    /// Some SKU had fewer units left than the order asked for; `remaining` is what the strategy saw of each SKU, in
    /// the order's SKU order.
    case outOfStock(remaining: [Int64], attempts: Int, conflicts: Int)
    /// `watch` only: every attempt the retry policy allowed conflicted.
    case gaveUp(attempts: Int, conflicts: Int)
    /// A retry after an unknown outcome found the order already in the ledger: the lost reply was a commit.
    case alreadyRecorded(attempts: Int, conflicts: Int)

    /// True for a sale, made now or found already recorded.
    var tookStock: Bool {
        switch self {
        case .sold, .alreadyRecorded: true
        case .outOfStock, .gaveUp: false
        }
    }

    /// The outcome of a `watch` transaction whose body aborts with `nil` for "already recorded" and with what it
    /// saw for "out of stock".
    ///
    /// - Throws: `RedisError` when a command inside EXEC was refused.
    /// - Parameter skus: how many DECRBYs open the transaction: their results are the stock left per SKU.
    init(_ result: TransactionResult<[Int64]?>, skus: Int = 0) throws {
        switch result.outcome {
        case .committed(let results, _):
            if let refusal = results.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "DECRBY inside EXEC")
            }
            self = .sold(attempts: result.attempts, conflicts: result.conflicts, left: Self.left(results, skus: skus))
        case .aborted(nil):
            self = .alreadyRecorded(attempts: result.attempts, conflicts: result.conflicts)
        case .aborted(let remaining?):
            self = .outOfStock(remaining: remaining, attempts: result.attempts, conflicts: result.conflicts)
        case .exhausted:
            self = .gaveUp(attempts: result.attempts, conflicts: result.conflicts)
        }
    }

    /// The DECRBY results at the head of EXEC's reply, without an array for a single SKU.
    private static func left(_ results: [RedisReply], skus: Int) -> StockLeft {
        guard skus > 0, results.count >= skus else { return .unknown }
        if skus == 1 { return results[0].int.map(StockLeft.one) ?? .unknown }
        let values = results.prefix(skus).compactMap(\.int)
        return values.count == skus ? .each(values) : .unknown
    }
}
