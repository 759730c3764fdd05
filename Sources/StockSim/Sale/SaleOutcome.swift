import Hiredis

/// How one order ended.
enum SaleOutcome: Equatable {
    /// The units were taken (and recorded, with a ledger).
    case sold(attempts: Int, conflicts: Int)
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
    init(_ result: TransactionResult<[Int64]?>) throws {
        switch result.outcome {
        case .committed(let results, _):
            if let refusal = results.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "DECRBY inside EXEC")
            }
            self = .sold(attempts: result.attempts, conflicts: result.conflicts)
        case .aborted(nil):
            self = .alreadyRecorded(attempts: result.attempts, conflicts: result.conflicts)
        case .aborted(let remaining?):
            self = .outOfStock(remaining: remaining, attempts: result.attempts, conflicts: result.conflicts)
        case .exhausted:
            self = .gaveUp(attempts: result.attempts, conflicts: result.conflicts)
        }
    }
}
