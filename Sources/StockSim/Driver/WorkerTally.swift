import Histogram
import Spawn

/// The workers' outcomes summed: what they acknowledged, per SKU and in all, and how they ended. A worker that died
/// without a report counts with what its last progress message said.
struct WorkerTally {
    var acknowledged = 0
    var acknowledgedOrders = 0
    var acknowledgedBySKU: [Int]
    var rejected = 0
    var gaveUp = 0
    var attempts = 0
    var conflicts = 0
    var unknownOutcomes = 0
    var recovered = 0
    var unresolvedOrders = 0
    var unresolvedUnits = 0
    var reconnects = 0
    var redirects = 0
    /// Units each worker acknowledged, sorted.
    var perWorker: [Int] = []
    /// Workers that ended without a report.
    var dead = 0
    /// Workers that placed every order of their quota.
    var quotaReached = 0
    var workers = 0
    var failures: [SimulationReport.WorkerFailure] = []
    var latency = Histogram<UInt64>.saleLatency()
    var retries = Histogram<UInt64>.saleRetries()
    var peakRSSBytes = 0
    /// Open loop: per sale, from its due time to the commit.
    var correctedLatency = Histogram<UInt64>.saleLatency()
    /// Orders the reporting workers placed.
    var placedOrders = 0
    /// Open loop: the furthest behind schedule any worker fell, and the furthest behind any worker was at its end.
    var maxBehindNanoseconds: UInt64 = 0
    var finalBehindNanoseconds: UInt64 = 0
    /// The workers' seconds added up, by second.
    var intervals: [Int: IntervalTotal] = [:]

    /// One second of the run, every worker's orders that ended in it.
    struct IntervalTotal {
        var orders = 0
        var units = 0
        var conflicts = 0
        var refusals = 0
        /// The second's latency percentiles, from its workers' histograms added up.
        var p50Us: UInt64 = 0
        var p99Us: UInt64 = 0
    }

    init(_ outcomes: [WorkerOutcome], skus: Int) {
        acknowledgedBySKU = Array(repeating: 0, count: skus)
        workers = outcomes.count
        // Per second, every worker's latencies in it (the reports' own arrays, not copies).
        var latencies: [Int: [HistogramCounts]] = [:]
        for outcome in outcomes {
            peakRSSBytes = max(peakRSSBytes, outcome.peakRSSBytes)
            guard let report = outcome.report else {
                dead += 1
                // What it acknowledged before it died is what its last progress message said.
                acknowledged += outcome.lastProgress.units
                acknowledgedOrders += outcome.lastProgress.orders
                attempts += outcome.lastProgress.attempts
                conflicts += outcome.lastProgress.conflicts
                perWorker.append(outcome.lastProgress.units)
                failures.append(
                    .init(
                        worker: outcome.index, pid: outcome.pid, termination: outcome.termination.description,
                        error: outcome.failure))
                continue
            }
            if report.quotaReached { quotaReached += 1 }
            acknowledged += report.units
            acknowledgedOrders += report.orders
            unknownOutcomes += report.unknownOutcomes
            recovered += report.recovered
            unresolvedOrders += report.unresolvedOrders
            unresolvedUnits += report.unresolvedUnits
            reconnects += report.reconnects
            redirects += report.redirects
            for (sku, units) in report.unitsBySKU.enumerated() where sku < skus { acknowledgedBySKU[sku] += units }
            rejected += report.rejected
            gaveUp += report.gaveUp
            attempts += report.attempts
            conflicts += report.conflicts
            perWorker.append(report.units)
            report.latency.add(to: &latency)
            report.retries.add(to: &retries)
            report.correctedLatency.add(to: &correctedLatency)
            placedOrders += report.placedOrders
            maxBehindNanoseconds = max(maxBehindNanoseconds, report.maxBehindNanoseconds)
            finalBehindNanoseconds = max(finalBehindNanoseconds, report.finalBehindNanoseconds)
            for interval in report.intervals {
                var total = intervals[interval.second] ?? IntervalTotal()
                total.orders += interval.orders
                total.units += interval.units
                total.conflicts += interval.conflicts
                total.refusals += interval.refusals
                intervals[interval.second] = total
                latencies[interval.second, default: []].append(interval.latency)
            }
            if let error = report.error ?? outcome.failure {
                failures.append(
                    .init(
                        worker: outcome.index, pid: outcome.pid, termination: outcome.termination.description,
                        error: error))
            }
        }
        perWorker.sort()
        // One histogram for every second in turn: a whole HDR histogram a second (170 kB) would make the driver's
        // memory grow with the length of the run.
        var histogram = Histogram<UInt64>.saleLatency()
        for (second, counts) in latencies {
            histogram.reset()
            for count in counts { count.add(to: &histogram) }
            guard histogram.totalCount > 0 else { continue }
            intervals[second]?.p50Us = histogram.valueAtPercentile(50)
            intervals[second]?.p99Us = histogram.valueAtPercentile(99)
        }
    }

    /// The errors workers stopped on.
    var workerErrors: [String] { failures.compactMap(\.error) }
}
