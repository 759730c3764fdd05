import Foundation

/// Everything a sweep measured and concluded. Its JSON form (`stocksim sweep --json FILE`) is a stable interface:
/// fields are added, never renamed or removed, within a `schema_version`.
public struct SweepResult: Sendable, JSONDocument {
    public var schemaVersion = 1
    public var parameters: SweepParameters
    /// The server, password masked; `embedded` says whether StockSim started it.
    public var redis: String
    public var embedded: Bool
    /// One per strategy and worker count that ran, strategies in the order given, worker counts ascending (and, when
    /// master counts are compared, per master count, ascending, strategy by strategy; when rates are compared, one per
    /// rate at each worker count, ascending).
    public var points: [SweepPoint]
    /// One per strategy (and master count) with a point whose runs completed and passed their audits.
    public var recommendations: [SweepRecommendation]
    /// With `--rate LIST --p99-target MS`: per strategy and worker count (and master count), the highest rate whose
    /// corrected p99 met the target; `nil` without a target.
    public var rateFindings: [SweepRateFinding]?
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
            points, strategies: parameters.strategies, masters: parameters.clusterMasters,
            tolerance: parameters.tolerance)
        self.rateFindings = parameters.p99TargetUs.map { target in
            parameters.strategies.flatMap { strategy in
                parameters.workerCounts.flatMap { workers in
                    (parameters.clusterMasters?.map(Optional.some) ?? [nil]).compactMap { masters in
                        SweepRateFinding.find(
                            strategy: strategy, workers: workers, masters: masters, points: points,
                            p99TargetUs: target)
                    }
                }
            }
        }
        self.auditsPassed = points.allSatisfy(\.auditsPassed)
        self.completed = completed
        self.incompleteReason = incompleteReason
        self.interrupted = interrupted
        self.elapsedSeconds = elapsedSeconds
    }

    /// A recommendation per strategy, from the points whose runs passed their audits: a worker count that oversells
    /// is not worth running at any speed.
    static func recommendations(
        _ points: [SweepPoint], strategies: [Strategy], masters: [Int]?, tolerance: Double
    ) -> [SweepRecommendation] {
        let counts: [Int?] = masters ?? [nil]
        return strategies.flatMap { strategy in counts.map { (strategy, $0) } }.compactMap { strategy, masters in
            var medians: [Int: Double] = [:]
            var failed: [Int] = []
            for point in points where point.strategy == strategy && point.masters == masters {
                guard point.auditsPassed else {
                    failed.append(point.workers)
                    continue
                }
                // With several rates, a worker count's best point stands for it.
                if let aggregate = point.aggregate {
                    medians[point.workers] = max(medians[point.workers] ?? 0, aggregate.salesPerSecond.median)
                }
            }
            var recommendation = SweepRecommendation.recommend(
                strategy: strategy, masters: masters, medians: medians, tolerance: tolerance)
            if !failed.isEmpty {
                let counts = failed.map(String.init).joined(separator: ", ")
                recommendation?.reason += "; \(counts) failed the audit"
            }
            return recommendation
        }
    }

    /// The recommendation for `strategy` (on `masters` masters, when the sweep compares master counts), if there is
    /// one.
    public func recommendation(for strategy: Strategy, masters: Int? = nil) -> SweepRecommendation? {
        recommendations.first { $0.strategy == strategy && $0.masters == masters }
    }

    /// Where the sweep ran, in words: `embedded redis-server redis://…`, `embedded cluster, 3 masters`,
    /// `embedded clusters of 1, 2, 3 masters`, or the URL of a server StockSim did not start.
    public var target: String {
        if let counts = parameters.clusterMasters, embedded {
            if counts.count == 1 { return "embedded cluster, \(NumberText.count(counts[0], "master"))" }
            return "embedded clusters of \(counts.map(String.init).joined(separator: ", ")) masters"
        }
        return embedded ? "embedded redis-server \(redis)" : redis
    }

    /// Whether `point` is the recommended one of its strategy (and master count): at the recommended worker count,
    /// and, across rates, the fastest point of that count, which stood for it.
    public func isRecommended(_ point: SweepPoint) -> Bool {
        guard let recommended = recommendation(for: point.strategy, masters: point.masters),
            recommended.workers == point.workers
        else { return false }
        return point.rate == nil || point.aggregate?.salesPerSecond.median == recommended.salesPerSecond
    }

    /// The rate finding for `strategy` at `workers` (on `masters` masters), if the sweep had a p99 target and a run
    /// there completed.
    public func rateFinding(for strategy: Strategy, workers: Int, masters: Int? = nil) -> SweepRateFinding? {
        rateFindings?.first { $0.strategy == strategy && $0.workers == workers && $0.masters == masters }
    }

    /// Runs that ran, over every point.
    public var runCount: Int { points.reduce(0) { $0 + $1.runs.count } }
}
