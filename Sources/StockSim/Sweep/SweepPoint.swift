import Foundation

/// One strategy at one worker count (on one master count, and at one open-loop rate, when the sweep compares them):
/// its runs and their aggregate.
public struct SweepPoint: Sendable, Codable {
    public var strategy: Strategy
    public var workers: Int
    /// The masters of the embedded cluster the point ran on (`--cluster-masters 1,2,3`); `nil` otherwise.
    public var masters: Int?
    /// The open loop's rate, orders per second (`--rate LIST`); `nil` for a closed loop.
    public var rate: Double?
    /// Every run of the point, in the order they ran.
    public var runs: [SweepRun]
    /// The medians over the runs that completed; `nil` when none did.
    public var aggregate: SweepAggregate?
    /// Runs whose audit failed (found oversell, a lost sale, …).
    public var auditFailures: Int

    /// A point from its runs.
    public init(strategy: Strategy, workers: Int, masters: Int? = nil, rate: Double? = nil, runs: [SweepRun]) {
        self.init(
            strategy: strategy, workers: workers, masters: masters, rate: rate, runs: runs,
            aggregate: SweepAggregate(runs), auditFailures: runs.filter { !$0.report.audit.passed }.count)
    }

    /// A point from figures alone (for rendering and recommending figures that came from elsewhere).
    public init(
        strategy: Strategy, workers: Int, masters: Int? = nil, rate: Double? = nil, runs: [SweepRun] = [],
        aggregate: SweepAggregate?, auditFailures: Int = 0
    ) {
        self.strategy = strategy
        self.workers = workers
        self.masters = masters
        self.rate = rate
        self.runs = runs
        self.aggregate = aggregate
        self.auditFailures = auditFailures
    }

    /// True when every run's audit passed.
    public var auditsPassed: Bool { auditFailures == 0 }

    /// `lua at 8`, `lua at 8 on 3 masters`, or `lua at 8 at 500/s`: where the point is, for messages.
    public var place: String {
        "\(strategy) at \(workers)" + (masters.map { " on \(NumberText.count($0, "master"))" } ?? "")
            + (rate.map { " at \(SweepRateFinding.rateText($0))/s" } ?? "")
    }
}
