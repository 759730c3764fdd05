import Histogram

/// What a worker reports at the end, in its `done` message. Its seconds are not in it: each goes to the driver as a
/// `WorkerMessage.interval` when it closes, so the report (and the driver's memory of it) does not grow with the
/// length of the run.
struct WorkerReport: Codable, Sendable, Equatable {
    var index: Int
    /// What its orders came to: sold, refused, given up, attempts, conflicts, unknown outcomes and the rest.
    var counts = SaleCounts()
    /// Per sale, first attempt to commit, in microseconds.
    var latency = HistogramCounts()
    /// Per sale, attempts − 1.
    var retries = HistogramCounts()
    /// Open loop only: per sale, from the time it was due to the commit, in microseconds (the corrected latency).
    var correctedLatency = HistogramCounts()
    /// Open loop only: how far behind its schedule the worker sent an order, at worst and for its last order.
    var maxBehindNanoseconds: UInt64 = 0
    var finalBehindNanoseconds: UInt64 = 0
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
    var progress: WorkerProgress { counts.progress }

    /// Counts one order's outcome, and for a sale its latencies (from the first attempt, and in an open loop from
    /// the time it was due) and retries; every outcome goes into its second's interval.
    ///
    /// - Returns: what the stock had left when the order was refused as out of stock; otherwise `nil`.
    mutating func record(
        _ outcome: SaleOutcome, of order: Order, timing: OrderTiming, into histograms: inout SaleHistograms
    ) -> [Int64]? {
        let latency = (timing.ended - min(timing.sent, timing.ended)) / 1_000
        let corrected = (timing.ended - min(timing.due, timing.ended)) / 1_000
        histograms.intervals.record(
            outcome, units: order.totalUnits, latencyMicroseconds: histograms.openLoop ? corrected : latency,
            end: timing.ended)
        switch outcome {
        case .sold(let attempts, let conflicts, _), .alreadyRecorded(let attempts, let conflicts):
            if case .alreadyRecorded = outcome { counts.recovered += 1 }
            if counts.progress.orders == 0 { firstSaleNanoseconds = monotonicNanoseconds() }
            counts.progress.units += order.totalUnits
            counts.progress.orders += 1
            for sku in order.skus { unitsBySKU[sku] += order.units }
            count(attempts: attempts, conflicts: conflicts)
            histograms.latency.record(latency)
            histograms.corrected?.record(corrected)
            histograms.retries.record(UInt64(attempts - 1))
            return nil
        case .outOfStock(let remaining, let attempts, let conflicts):
            counts.rejected += 1
            count(attempts: attempts, conflicts: conflicts)
            return remaining
        case .gaveUp(let attempts, let conflicts):
            counts.gaveUp += 1
            count(attempts: attempts, conflicts: conflicts)
            return nil
        }
    }

    /// Notes how far behind its schedule the worker sent an order (0 in a closed loop, or on time).
    mutating func sent(behind nanoseconds: UInt64) {
        counts.placedOrders += 1
        maxBehindNanoseconds = max(maxBehindNanoseconds, nanoseconds)
        finalBehindNanoseconds = nanoseconds
    }

    private mutating func count(attempts: Int, conflicts: Int) {
        counts.progress.attempts += attempts
        counts.progress.conflicts += conflicts
    }
}

/// When one order was due, sent and ended, in CLOCK_MONOTONIC nanoseconds; in a closed loop it is due when sent.
struct OrderTiming {
    var due: UInt64
    var sent: UInt64
    var ended: UInt64
}

/// What a worker measures of its sales as it sells; the report carries them as `HistogramCounts` at the end.
struct SaleHistograms {
    /// An open loop (`--rate`): latencies are measured from the due time too. Kept rather than read off
    /// `corrected`: comparing that optional with `nil` copied the histogram out of it on every sale.
    let openLoop: Bool
    var latency = Histogram<UInt64>.saleLatency()
    /// Open loop only: a closed loop does not allocate it (a latency histogram's counts are about 170 KB, zeroed
    /// page by page in every worker process).
    var corrected: Histogram<UInt64>?
    var retries = Histogram<UInt64>.saleRetries()
    var intervals: IntervalRecorder

    /// - Parameters:
    ///   - openLoop: whether latencies are also measured from the due time.
    ///   - intervalsFrom: where the intervals' second 0 starts, in CLOCK_MONOTONIC nanoseconds: the run's start
    ///     barrier.
    init(openLoop: Bool, intervalsFrom start: UInt64) {
        self.openLoop = openLoop
        corrected = openLoop ? Histogram<UInt64>.saleLatency() : nil
        intervals = IntervalRecorder(start: start)
    }
}
