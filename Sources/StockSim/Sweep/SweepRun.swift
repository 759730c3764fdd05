import Foundation

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
