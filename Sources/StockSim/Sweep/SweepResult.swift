public import Foundation

/// The parameters a sweep ran with, as its JSON document records them.
public struct SweepParameters: Sendable, Codable, Hashable {
    public var strategies: [Strategy]
    public var workerCounts: [Int]
    public var repeats: Int
    public var key: String
    /// Units SET before every run.
    public var stock: Int
    public var ledger: Bool
    public var quantity: String
    public var maxAttempts: Int?
    public var backoff: String
    public var connectTimeoutMs: Int
    public var commandTimeoutMs: Int
    /// The seed every run used.
    public var seed: UInt64
    /// How close to the best median a recommended worker count must come (0.05: within 5%).
    public var tolerance: Double

    public init(_ configuration: SweepConfiguration, tolerance: Double = SweepRecommendation.defaultTolerance) {
        let base = configuration.base
        strategies = configuration.strategies
        workerCounts = configuration.workerCounts
        repeats = configuration.repeats
        key = base.key
        stock = base.initialStock ?? 0
        ledger = base.recordsLedger
        quantity = base.quantity.description
        maxAttempts = base.maxAttempts
        backoff = base.backoff.description
        connectTimeoutMs = base.connectTimeoutMilliseconds
        commandTimeoutMs = base.commandTimeoutMilliseconds
        seed = base.seed
        self.tolerance = tolerance
    }
}

/// One run of a sweep: its report and the Redis server's CPU use while the workers sold.
public struct SweepRun: Sendable, Codable {
    /// 1-based repeat of its point.
    public var repetition: Int
    /// The server's CPU time (`used_cpu_sys` + `used_cpu_user` from `INFO cpu`, read before and after the run) over
    /// the run's elapsed seconds, as a percentage of one core; `nil` when INFO could not be read. Redis executes
    /// commands on one thread, so near 100 the server is the bottleneck.
    public var redisCpuPercent: Double?
    public var report: SimulationReport

    public init(repetition: Int, redisCpuPercent: Double?, report: SimulationReport) {
        self.repetition = repetition
        self.redisCpuPercent = redisCpuPercent
        self.report = report
    }

    /// A run whose figures count: it completed and was not stopped.
    public var counts: Bool { report.completed && !report.interrupted }

    enum CodingKeys: String, CodingKey {
        case repetition = "repeat"
        case redisCpuPercent
        case report
    }
}

/// Smallest, median and largest of a figure over the repeats of a point.
public struct SweepSpread: Sendable, Codable, Hashable {
    public var min: Double
    public var median: Double
    public var max: Double

    public init(min: Double, median: Double, max: Double) {
        self.min = min
        self.median = median
        self.max = max
    }

    /// The spread of `values`, or `nil` when there are none. The median of an even count is the mean of the middle
    /// two.
    public init?(_ values: [Double]) {
        let sorted = values.sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        let middle = sorted.count / 2
        self.init(
            min: first, median: sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2,
            max: last)
    }
}

/// The figures of one point, each the median over the repeats that completed.
public struct SweepAggregate: Sendable, Codable, Hashable {
    /// Runs the figures come from: those that completed and were not stopped.
    public var runs: Int
    /// Units sold per second: median, with the smallest and largest run.
    public var salesPerSecond: SweepSpread
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
        redisCpuPercent: Double?
    ) {
        self.runs = runs
        self.salesPerSecond = salesPerSecond
        self.conflictRate = conflictRate
        self.latencyP99Us = latencyP99Us
        self.retriesPerSaleP99 = retriesPerSaleP99
        self.redisCpuPercent = redisCpuPercent
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
            redisCpuPercent: SweepSpread(cpu)?.median)
    }
}

/// One strategy at one worker count: its runs and their aggregate.
public struct SweepPoint: Sendable, Codable {
    public var strategy: Strategy
    public var workers: Int
    /// Every run of the point, in the order they ran.
    public var runs: [SweepRun]
    /// The medians over the runs that completed; `nil` when none did.
    public var aggregate: SweepAggregate?
    /// Runs whose audit failed (found oversell, a lost sale, …).
    public var auditFailures: Int

    /// A point from its runs.
    public init(strategy: Strategy, workers: Int, runs: [SweepRun]) {
        self.init(
            strategy: strategy, workers: workers, runs: runs, aggregate: SweepAggregate(runs),
            auditFailures: runs.filter { !$0.report.audit.passed }.count)
    }

    /// A point from figures alone (for rendering and recommending figures that came from elsewhere).
    public init(
        strategy: Strategy, workers: Int, runs: [SweepRun] = [], aggregate: SweepAggregate?, auditFailures: Int = 0
    ) {
        self.strategy = strategy
        self.workers = workers
        self.runs = runs
        self.aggregate = aggregate
        self.auditFailures = auditFailures
    }

    /// True when every run's audit passed.
    public var auditsPassed: Bool { auditFailures == 0 }
}

/// The worker count worth running for a strategy: the smallest whose median throughput is within a tolerance of
/// the best median. More workers than that cost processes and connections and buy (almost) nothing.
public struct SweepRecommendation: Sendable, Codable, Hashable, CustomStringConvertible {
    public static let defaultTolerance = 0.05

    public var strategy: Strategy
    public var workers: Int
    /// The median sales per second at `workers`.
    public var salesPerSecond: Double
    /// The worker count with the best median (the smallest of equals).
    public var bestWorkers: Int
    public var bestSalesPerSecond: Double
    public var tolerance: Double
    /// Why, in words: `41.2k/s, within 5% of the best 42.0k/s at 32`.
    public var reason: String

    /// Recommends a worker count from median throughputs. A pure function of its arguments.
    ///
    /// - Parameters:
    ///   - strategy: whose figures these are.
    ///   - medians: median sales per second by worker count.
    ///   - tolerance: how far below the best median a count may be and still be recommended (0.05: 5%).
    /// - Returns: the smallest worker count whose median is within `tolerance` of the best, or `nil` with no figures.
    public static func recommend(
        strategy: Strategy, medians: [Int: Double], tolerance: Double = defaultTolerance
    ) -> SweepRecommendation? {
        let counts = medians.keys.sorted()
        guard let first = counts.first, var best = medians[first] else { return nil }
        var bestWorkers = first
        for count in counts.dropFirst() {
            if let median = medians[count], median > best {
                best = median
                bestWorkers = count
            }
        }
        // A difference, not a product with (1 − tolerance), so that exactly 5% below counts as within 5%.
        let chosen = counts.first { (best - (medians[$0] ?? 0)) <= best * tolerance } ?? bestWorkers
        let rate = medians[chosen] ?? best
        let percent = NumberText.percent(tolerance)
        let reason: String
        if counts.count == 1 {
            reason = "\(NumberText.rate(rate))/s; the only worker count with figures"
        } else if chosen == bestWorkers {
            reason = "\(NumberText.rate(rate))/s, the best median; no smaller count comes within \(percent)"
        } else {
            reason =
                "\(NumberText.rate(rate))/s, within \(percent) of the best \(NumberText.rate(best))/s at \(bestWorkers)"
        }
        return SweepRecommendation(
            strategy: strategy, workers: chosen, salesPerSecond: rate, bestWorkers: bestWorkers,
            bestSalesPerSecond: best, tolerance: tolerance, reason: reason)
    }

    /// `lua: 8 workers (41.2k/s, within 5% of the best 42.0k/s at 32)`
    public var description: String {
        "\(strategy): \(workers) worker\(workers == 1 ? "" : "s") (\(reason))"
    }
}

/// Everything a sweep measured and concluded. Its JSON form (`stocksim sweep --json FILE`) is a stable interface:
/// fields are added, never renamed or removed, within a `schema_version`.
public struct SweepResult: Sendable, Codable {
    public var schemaVersion = 1
    public var parameters: SweepParameters
    /// The server, password masked; `embedded` says whether StockSim started it.
    public var redis: String
    public var embedded: Bool
    /// One per strategy and worker count that ran, strategies in the order given, worker counts ascending.
    public var points: [SweepPoint]
    /// One per strategy with a point whose runs completed and passed their audits.
    public var recommendations: [SweepRecommendation]
    /// True when every run's audit passed.
    public var auditsPassed: Bool
    /// False when a run could not complete; the sweep stopped there and `incomplete_reason` says why.
    public var completed: Bool
    public var incompleteReason: String?
    /// True when the sweep was stopped by SIGINT or SIGTERM.
    public var interrupted: Bool
    public var elapsedSeconds: Double

    /// A result from its points; the recommendations and the audit verdict are worked out from them.
    public init(
        parameters: SweepParameters, redis: String, embedded: Bool, points: [SweepPoint], completed: Bool = true,
        incompleteReason: String? = nil, interrupted: Bool = false, elapsedSeconds: Double = 0
    ) {
        self.parameters = parameters
        self.redis = redis
        self.embedded = embedded
        self.points = points
        self.recommendations = Self.recommendations(
            points, strategies: parameters.strategies, tolerance: parameters.tolerance)
        self.auditsPassed = points.allSatisfy(\.auditsPassed)
        self.completed = completed
        self.incompleteReason = incompleteReason
        self.interrupted = interrupted
        self.elapsedSeconds = elapsedSeconds
    }

    /// A recommendation per strategy, from the points whose runs passed their audits: a worker count that oversells
    /// is not worth running at any speed.
    static func recommendations(_ points: [SweepPoint], strategies: [Strategy], tolerance: Double)
        -> [SweepRecommendation]
    {
        strategies.compactMap { strategy in
            var medians: [Int: Double] = [:]
            var failed: [Int] = []
            for point in points where point.strategy == strategy {
                guard point.auditsPassed else {
                    failed.append(point.workers)
                    continue
                }
                if let aggregate = point.aggregate { medians[point.workers] = aggregate.salesPerSecond.median }
            }
            var recommendation = SweepRecommendation.recommend(
                strategy: strategy, medians: medians, tolerance: tolerance)
            if !failed.isEmpty {
                let counts = failed.map(String.init).joined(separator: ", ")
                recommendation?.reason += "; \(counts) failed the audit"
            }
            return recommendation
        }
    }

    /// The recommendation for `strategy`, if there is one.
    public func recommendation(for strategy: Strategy) -> SweepRecommendation? {
        recommendations.first { $0.strategy == strategy }
    }

    /// Runs that ran, over every point.
    public var runCount: Int { points.reduce(0) { $0 + $1.runs.count } }

    /// The JSON document, keys in snake_case, sorted, pretty-printed.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a JSON document written by ``json()``.
    public static func decode(_ data: Data) throws -> SweepResult {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(SweepResult.self, from: data)
    }
}
