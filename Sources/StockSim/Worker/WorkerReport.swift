import Histogram

/// What a worker reports at the end, in its `done` message.
struct WorkerReport: Codable, Sendable, Equatable {
    var index: Int
    /// Units the worker was told it sold: acknowledged sales.
    var units: Int = 0
    var orders: Int = 0
    /// Orders refused as out of stock.
    var rejected: Int = 0
    /// Orders given up after the retry policy's last attempt.
    var gaveUp: Int = 0
    var attempts: Int = 0
    var conflicts: Int = 0
    /// Per sale, first attempt to commit, in microseconds.
    var latency = HistogramCounts()
    /// Per sale, attempts − 1.
    var retries = HistogramCounts()
    /// Replies lost after a write was sent (EXEC, EVALSHA, DECRBY): outcomes that had to be found out.
    var unknownOutcomes: Int = 0
    /// Unknown outcomes the ledger showed to be commits (counted in `units`).
    var recovered: Int = 0
    /// Unknown outcomes no one can resolve (`decr`, or no ledger): orders and units that may or may not be sold.
    var unresolvedOrders: Int = 0
    var unresolvedUnits: Int = 0
    /// Times the worker connected again after its connection failed.
    var reconnects: Int = 0
    /// Times a Redis Cluster turned an order away before it ran (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) and the whole order
    /// was placed again on the slot's owner; never counted as conflicts.
    var redirects: Int = 0
    /// Units acknowledged per SKU.
    var unitsBySKU: [Int] = []
    /// Why the worker stopped before its demand was met, if it did.
    var error: String?
    /// True when the worker stopped because the driver asked it to.
    var stopped = false
    /// True when the worker placed every order of its quota (`--orders`).
    var quotaReached = false
    /// When its sales loop ended, in CLOCK_MONOTONIC nanoseconds (one clock for every process on the machine), so
    /// the driver can time the sale itself, without the reports and exits that follow it.
    var finishedNanoseconds: UInt64 = 0
    /// When its first sale was acknowledged, in CLOCK_MONOTONIC nanoseconds (0: none), for the coordination figures
    /// of a run of several hosts.
    var firstSaleNanoseconds: UInt64 = 0

    /// What the report says so far, as a progress message carries it.
    var progress: WorkerProgress {
        WorkerProgress(units: units, orders: orders, attempts: attempts, conflicts: conflicts)
    }

    /// Counts one order's outcome, and for a sale its latency (first attempt to commit) and retries.
    ///
    /// - Returns: what the stock had left when the order was refused as out of stock; otherwise `nil`.
    mutating func record(
        _ outcome: SaleOutcome, of order: Order, took elapsed: Duration, latency: inout Histogram<UInt64>,
        retries: inout Histogram<UInt64>
    ) -> [Int64]? {
        switch outcome {
        case .sold(let attempts, let conflicts), .alreadyRecorded(let attempts, let conflicts):
            if case .alreadyRecorded = outcome { recovered += 1 }
            if orders == 0 { firstSaleNanoseconds = monotonicNanoseconds() }
            units += order.totalUnits
            orders += 1
            for sku in order.skus { unitsBySKU[sku] += order.units }
            count(attempts: attempts, conflicts: conflicts)
            latency.record(UInt64(elapsed / .microseconds(1)))
            retries.record(UInt64(attempts - 1))
            return nil
        case .outOfStock(let remaining, let attempts, let conflicts):
            rejected += 1
            count(attempts: attempts, conflicts: conflicts)
            return remaining
        case .gaveUp(let attempts, let conflicts):
            gaveUp += 1
            count(attempts: attempts, conflicts: conflicts)
            return nil
        }
    }

    private mutating func count(attempts: Int, conflicts: Int) {
        self.attempts += attempts
        self.conflicts += conflicts
    }
}
