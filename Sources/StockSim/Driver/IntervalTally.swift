import Histogram

/// The run's seconds (`intervals[]`), folded as they arrive: every worker sends each second of its sale once it has
/// closed, and a joining host of a run of several hosts forwards its workers' seconds once they are complete. A
/// second's latency counts wait only until every source that may still send has moved past it; then they are added
/// into one reused histogram for the second's percentiles and let go, so what stays is a small total per second,
/// never a histogram's counts per second per worker.
///
/// Sources send their seconds in order, each once; a source that ends (its report came, it died, its host was lost)
/// holds no second back any more, and what it sent stays counted, once. Shared by the pool and the host session, on
/// the driver's one thread.
final class IntervalTally {
    /// Who sends seconds.
    enum Source: Hashable {
        case worker(Int)
        case host(String)
    }

    /// Every second so far, by second: every source's orders that ended in it, and once it is complete its latency
    /// percentiles from its sources' histograms added up.
    private(set) var totals: [SimulationReport.Interval] = []
    /// The last second each source that may still send has sent (−1: none yet).
    private var sentThrough: [Source: Int] = [:]
    /// The latency counts of the seconds not yet complete, by second.
    private var pending: [Int: [HistogramCounts]] = [:]
    /// Every second up to this one is complete.
    private var completeThrough = -1
    /// A joining host: complete seconds wait in `outbox`, their latencies added up, for the host to forward.
    private let forwards: Bool
    private var outbox: [WorkerInterval] = []
    private var histogram = Histogram<UInt64>.saleLatency()

    /// - Parameter forwards: keep each complete second's added-up counts for `takeComplete()` (a joining host, whose
    ///   coordinator takes the percentiles), instead of only its percentiles.
    init(forwards: Bool = false) { self.forwards = forwards }

    /// Seconds whose latency counts are still held: how far the slowest source lags, not how long the run is.
    var pendingSeconds: Int { pending.count }

    /// A source that will send seconds; every source is named before the run's start barrier opens, so that no
    /// second completes without it.
    func expect(_ source: Source) {
        sentThrough[source] = sentThrough[source] ?? -1
    }

    /// Folds one second from `source`. A second that is already complete (from a source never expected) keeps its
    /// counts but cannot take its latencies any more.
    func add(_ interval: WorkerInterval, from source: Source) {
        guard interval.second >= 0 else { return }
        while totals.count <= interval.second {
            totals.append(
                SimulationReport.Interval(
                    second: totals.count, orders: 0, units: 0, conflicts: 0, refusals: 0, p50Us: 0, p99Us: 0))
        }
        totals[interval.second].orders += interval.orders
        totals[interval.second].units += interval.units
        totals[interval.second].conflicts += interval.conflicts
        totals[interval.second].refusals += interval.refusals
        if interval.second > completeThrough { pending[interval.second, default: []].append(interval.latency) }
        if let last = sentThrough[source] { sentThrough[source] = max(last, interval.second) }
        completeSeconds()
    }

    /// `source` sends no more: it reported, died or was lost.
    func end(_ source: Source) {
        guard sentThrough.removeValue(forKey: source) != nil else { return }
        completeSeconds()
    }

    /// Ends every source: the run is over.
    func endAll() {
        sentThrough.removeAll()
        completeSeconds()
    }

    /// A joining host: the seconds completed since the last call, oldest first, each with its sources' latencies
    /// added up.
    func takeComplete() -> [WorkerInterval] {
        defer { outbox.removeAll() }
        return outbox
    }

    /// The report's rows: every second from 0 to the last, zeros where nothing ended. Ends every source first.
    func rows() -> [SimulationReport.Interval] {
        endAll()
        return totals
    }

    /// Completes every second no source may still send to: up to the least any live source has sent.
    private func completeSeconds() {
        let through = sentThrough.values.min() ?? Int.max
        guard through > completeThrough else { return }
        for second in pending.keys.filter({ $0 <= through }).sorted() {
            guard let counts = pending.removeValue(forKey: second) else { continue }
            histogram.reset()
            for count in counts { count.add(to: &histogram) }
            if forwards {
                let total = totals[second]
                outbox.append(
                    WorkerInterval(
                        second: second, orders: total.orders, units: total.units, conflicts: total.conflicts,
                        refusals: total.refusals, latency: HistogramCounts(histogram)))
            }
            guard histogram.totalCount > 0 else { continue }
            totals[second].p50Us = histogram.valueAtPercentile(50)
            totals[second].p99Us = histogram.valueAtPercentile(99)
        }
        completeThrough = max(completeThrough, through == Int.max ? (totals.count - 1) : through)
    }
}
