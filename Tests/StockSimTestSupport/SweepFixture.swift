public import StockSim

/// Fixed figures, as a sweep would have measured them, for checks that need no Redis (the renderings' tests and
/// the recommendation's).
public enum SweepFixture {
    public static func point(
        _ strategy: Strategy, _ workers: Int, _ median: Double, conflicts: Double = 0, auditFailures: Int = 0
    ) -> SweepPoint {
        SweepPoint(
            strategy: strategy, workers: workers,
            aggregate: SweepAggregate(
                runs: 3, salesPerSecond: SweepSpread(min: median * 0.97, median: median, max: median * 1.02),
                conflictRate: conflicts, latencyP99Us: 350, retriesPerSaleP99: conflicts > 0 ? 4 : 0,
                redisCpuPercent: 87.5),
            auditFailures: auditFailures)
    }

    public static let lua: [(Int, Double)] = [
        (1, 10_000), (2, 19_000), (4, 35_000), (8, 41_200), (16, 41_900), (32, 42_000), (64, 40_000),
    ]
    public static let watch: [(Int, Double, Double)] = [
        (1, 15_000, 0), (2, 11_000, 0.36), (4, 9_500, 0.58), (8, 8_000, 0.71), (16, 7_000, 0.8), (32, 6_000, 0.86),
        (64, 5_000, 0.9),
    ]

    /// watch and lua at 1…64 workers; watch is best alone, lua at 8 is within 5% of its best at 32.
    public static func result(key: String = "stock:count") -> SweepResult {
        let configuration = SweepConfiguration(
            workerCounts: [1, 2, 4, 8, 16, 32, 64], strategies: [.watch, .lua], repeats: 3,
            base: SimulationConfiguration(key: key, initialStock: 20_000, seed: 7))
        let points =
            watch.map { point(.watch, $0.0, $0.1, conflicts: $0.2) } + lua.map { point(.lua, $0.0, $0.1) }
        return SweepResult(
            parameters: SweepParameters(configuration), redis: "redis://127.0.0.1:6379", embedded: true,
            points: points, elapsedSeconds: 42)
    }
}
