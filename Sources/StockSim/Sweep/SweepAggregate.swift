import Foundation

/// The figures of one point, each the median over the repeats that completed.
public struct SweepAggregate: Sendable, Codable, Hashable {
    /// Runs the figures come from: those that completed and were not stopped.
    public var runs: Int
    /// Units sold per second: median, with the smallest and largest run (the same as `units_per_second`, kept under
    /// its schema-1 name).
    public var salesPerSecond: SweepSpread
    /// Units sold per second: median, with the smallest and largest run.
    public var unitsPerSecond: SweepSpread?
    /// Orders sold per second: median, with the smallest and largest run.
    public var ordersPerSecond: SweepSpread?
    /// Conflicts per attempt, 0…1.
    public var conflictRate: Double
    /// The p99 latency per sale, in microseconds.
    public var latencyP99Us: Double
    /// The p99 of retries per sale.
    public var retriesPerSaleP99: Double
    /// The Redis server's CPU use as a percentage of one core; `nil` when INFO could not be read.
    public var redisCpuPercent: Double?
    /// Open loop: the p99 latency per sale from the time the order was due (`open_loop.latency_us_corrected`), in
    /// microseconds; `nil` for a closed loop.
    public var correctedLatencyP99Us: Double?
    /// Open loop: orders placed per second (`open_loop.achieved_rate`), the median; `nil` for a closed loop.
    public var achievedRate: Double?

    public init(
        runs: Int, salesPerSecond: SweepSpread, conflictRate: Double, latencyP99Us: Double, retriesPerSaleP99: Double,
        redisCpuPercent: Double?, ordersPerSecond: SweepSpread? = nil, correctedLatencyP99Us: Double? = nil,
        achievedRate: Double? = nil
    ) {
        self.runs = runs
        self.salesPerSecond = salesPerSecond
        self.conflictRate = conflictRate
        self.latencyP99Us = latencyP99Us
        self.retriesPerSaleP99 = retriesPerSaleP99
        self.redisCpuPercent = redisCpuPercent
        self.unitsPerSecond = salesPerSecond
        self.ordersPerSecond = ordersPerSecond
        self.correctedLatencyP99Us = correctedLatencyP99Us
        self.achievedRate = achievedRate
    }

    /// The aggregate of the runs that count, or `nil` when none does.
    public init?(_ runs: [SweepRun]) {
        let counted = runs.filter(\.counts)
        let reports = counted.map(\.report)
        guard let sales = SweepSpread(reports.map(\.salesPerSecond)) else { return nil }
        func median(_ values: [Double]) -> Double { SweepSpread(values)?.median ?? 0 }
        let cpu = counted.compactMap(\.redisCpuPercent)
        self.init(
            runs: counted.count, salesPerSecond: sales, conflictRate: median(reports.map(\.conflictRate)),
            latencyP99Us: median(reports.map { Double($0.latencyUs.p99) }),
            retriesPerSaleP99: median(reports.map { Double($0.retriesPerSale.p99) }),
            redisCpuPercent: SweepSpread(cpu)?.median, ordersPerSecond: SweepSpread(reports.map(\.ordersPerSecond)))
        let open = reports.compactMap(\.openLoop)
        if !open.isEmpty {
            correctedLatencyP99Us = median(open.map { Double($0.latencyUsCorrected.p99) })
            achievedRate = median(open.map(\.achievedRate))
        }
    }
}
