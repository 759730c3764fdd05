/// Why a run's sale ended, in the JSON report as `end_reason`. The first that applies, in this order:
///
/// - `failed`: a worker stopped on an error, every worker died, or Redis could not be read back at the end;
/// - `stopped`: SIGINT, SIGTERM or the caller's `shouldStop`;
/// - `time-limit`: `--duration` ran out and the driver stopped the workers;
/// - `order-limit`: every worker placed its share of `--orders`;
/// - `sold-out`: the workers ran out of demand and every unit of every SKU is sold;
/// - `demand-unmet`: the workers ran out of demand with stock left that no order of the allowed sizes and cart size
///   can take (as `--quantity 3` leaving 1 unit), or that they saw refused below the smallest order size.
public enum EndReason: String, Sendable, Hashable, Codable, CaseIterable {
    case soldOut = "sold-out"
    case orderLimit = "order-limit"
    case timeLimit = "time-limit"
    case demandUnmet = "demand-unmet"
    case stopped
    case failed

    /// The reason for a sale, from what the pool did, the workers' reports and the stock read back.
    ///
    /// - Parameters:
    ///   - failed: a worker stopped on an error, or Redis could not be read back.
    ///   - finalStock: the units left over every SKU, or `nil` when they could not be read.
    init(sale: Simulation.Sale, tally: WorkerTally, failed: Bool, finalStock: Int64?) {
        if failed || (tally.workers > 0 && tally.dead == tally.workers) {
            self = .failed
        } else if sale.interrupted {
            self = .stopped
        } else if sale.timeLimitReached {
            self = .timeLimit
        } else if tally.workers > tally.dead, tally.quotaReached == tally.workers - tally.dead {
            self = .orderLimit
        } else if finalStock == 0 {
            self = .soldOut
        } else {
            self = .demandUnmet
        }
    }
}
