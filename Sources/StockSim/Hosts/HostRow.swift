import Histogram

extension SimulationReport {
    /// One host of a run of several hosts (`stocksim run --hosts N`): its workers and what they did.
    public struct HostRow: Sendable, Codable, Hashable {
        public var name: String
        public var workers: Int
        /// Units its workers acknowledged (for a lost host: up to its last progress message).
        public var acknowledged: Int
        public var acknowledgedOrders: Int
        /// `acknowledged` / `elapsed_seconds`.
        public var unitsPerSecond: Double
        /// Its workers' latencies merged, in microseconds.
        public var latencyP99Us: UInt64
        public var spawnSeconds: Double
        /// The largest peak resident memory of one of its workers.
        public var workerPeakRssBytes: Int
        /// From its release at the start instant to its last worker's end.
        public var elapsedSeconds: Double
        /// True when its heartbeat expired before it reported: its workers count as dead ones.
        public var lost: Bool
        /// Redis's clock minus its monotonic clock, and the round trip of the `TIME` sample that measured it.
        public var clockOffsetUs: Int64?
        public var clockRoundTripUs: Int64?
        /// How late it released its workers after the start instant, by its own clock.
        public var releaseLagUs: Int64?
        /// Entries and bytes (field names and values) it wrote into the run's stream, its final report included.
        public var streamEntries: Int
        public var streamBytes: Int
        /// Its latency histogram's recorded (value, count) pairs, in microseconds: the report's merged
        /// `latency_counts` is their exact sum.
        public var latencyCounts: [[UInt64]]
    }

    /// What coordinating several hosts through Redis cost.
    public struct Coordination: Sendable, Codable, Hashable {
        public var hosts: Int
        public var startMarginMs: Int
        /// From the last registration to the start instant, in Redis's clock.
        public var lastRegistrationToStartMs: Double
        /// From the last registration to the first sale of any host, in Redis's clock; `nil` without a sale.
        public var lastRegistrationToFirstSaleMs: Double?
        /// Stream bytes each host wrote per second of its sale, on average over the hosts that reported.
        public var streamBytesPerHostPerSecond: Double
        public var streamEntriesPerHostPerSecond: Double
    }
}

extension SimulationReport.HostRow {
    /// The row of a host that reported.
    init(_ report: HostReport, skus: Int) {
        let tally = WorkerTally(report.workers.map(\.outcome), skus: skus)
        self.init(
            name: report.host, workers: report.workers.count, acknowledged: tally.counts.progress.units,
            acknowledgedOrders: tally.counts.progress.orders,
            unitsPerSecond: report.elapsedSeconds > 0 ? Double(tally.counts.progress.units) / report.elapsedSeconds : 0,
            latencyP99Us: tally.latency.totalCount > 0 ? tally.latency.valueAtPercentile(99) : 0,
            spawnSeconds: report.spawnSeconds, workerPeakRssBytes: tally.peakRSSBytes,
            elapsedSeconds: report.elapsedSeconds, lost: false, clockOffsetUs: report.clock.offsetMicroseconds,
            clockRoundTripUs: report.clock.roundTripMicroseconds, releaseLagUs: report.releaseLagMicroseconds,
            streamEntries: report.streamEntries, streamBytes: report.streamBytes,
            latencyCounts: HistogramCounts(tally.latency).pairs)
    }

    /// The row of a lost host: what its registration and its last message said.
    init(lost registration: HostRegistration, last: HostProgress?) {
        self.init(
            name: registration.name, workers: registration.workers, acknowledged: last?.totals.units ?? 0,
            acknowledgedOrders: last?.totals.orders ?? 0,
            unitsPerSecond: (last?.elapsed ?? 0) > 0 ? Double(last?.totals.units ?? 0) / (last?.elapsed ?? 1) : 0,
            latencyP99Us: 0, spawnSeconds: 0, workerPeakRssBytes: 0, elapsedSeconds: last?.elapsed ?? 0, lost: true,
            clockOffsetUs: nil, clockRoundTripUs: nil, releaseLagUs: nil, streamEntries: 0, streamBytes: 0,
            latencyCounts: [])
    }
}
