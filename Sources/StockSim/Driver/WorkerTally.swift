import Histogram
import Spawn

/// The workers' outcomes summed: what they acknowledged, per SKU and in all, and how they ended. A worker that died
/// without a report counts with what its last progress message said.
struct WorkerTally {
    /// What the workers' orders came to, summed: a dead worker's from its last progress message.
    var counts = SaleCounts()
    var acknowledgedBySKU: [Int]
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
    /// Open loop: the furthest behind schedule any worker fell, and the furthest behind any worker was at its end.
    var maxBehindNanoseconds: UInt64 = 0
    var finalBehindNanoseconds: UInt64 = 0

    init(_ outcomes: [WorkerOutcome], skus: Int) {
        acknowledgedBySKU = Array(repeating: 0, count: skus)
        workers = outcomes.count
        for outcome in outcomes {
            peakRSSBytes = max(peakRSSBytes, outcome.peakRSSBytes)
            guard let report = outcome.report else {
                dead += 1
                // What it acknowledged before it died is what its last progress message said.
                counts += SaleCounts(progress: outcome.lastProgress)
                perWorker.append(outcome.lastProgress.units)
                failures.append(
                    .init(
                        worker: outcome.index, pid: outcome.pid, termination: outcome.termination.description,
                        error: outcome.failure))
                continue
            }
            if report.quotaReached { quotaReached += 1 }
            counts += report.counts
            for (sku, units) in report.unitsBySKU.enumerated() where sku < skus { acknowledgedBySKU[sku] += units }
            perWorker.append(report.counts.progress.units)
            report.latency.add(to: &latency)
            report.retries.add(to: &retries)
            report.correctedLatency.add(to: &correctedLatency)
            maxBehindNanoseconds = max(maxBehindNanoseconds, report.maxBehindNanoseconds)
            finalBehindNanoseconds = max(finalBehindNanoseconds, report.finalBehindNanoseconds)
            if let error = report.error ?? outcome.failure {
                failures.append(
                    .init(
                        worker: outcome.index, pid: outcome.pid, termination: outcome.termination.description,
                        error: error))
            }
        }
        perWorker.sort()
    }

    /// The errors workers stopped on.
    var workerErrors: [String] { failures.compactMap(\.error) }
}
