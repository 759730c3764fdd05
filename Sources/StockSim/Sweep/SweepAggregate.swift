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

    public init(
        runs: Int, salesPerSecond: SweepSpread, conflictRate: Double, latencyP99Us: Double, retriesPerSaleP99: Double,
        redisCpuPercent: Double?, ordersPerSecond: SweepSpread? = nil
    ) {
        self.runs = runs
        self.salesPerSecond = salesPerSecond
        self.conflictRate = conflictRate
        self.latencyP99Us = latencyP99Us
        self.retriesPerSaleP99 = retriesPerSaleP99
        self.redisCpuPercent = redisCpuPercent
        self.unitsPerSecond = salesPerSecond
        self.ordersPerSecond = ordersPerSecond
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
    }
}
