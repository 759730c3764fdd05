import Foundation

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
