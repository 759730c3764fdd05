import Foundation

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
    /// How `watch` workers waited out the backoff's pauses: `yield` or `sleep`.
    public var backoffWait: String
    /// Whether `watch` runs sent each order's WATCH and GET behind the last EXEC (`--watch-ahead`).
    public var watchAhead: Bool
    public var connectTimeoutMs: Int
    public var commandTimeoutMs: Int
    /// The seed every run used.
    public var seed: UInt64
    /// `seed` as a decimal string, exact in a JSON reader that keeps numbers as doubles.
    public var seedString: String
    /// How close to the best median a recommended worker count must come (0.05: within 5%).
    public var tolerance: Double
    /// The master counts compared, each on an embedded cluster of its own (`--cluster-masters 1,2,3`); `nil` when
    /// the sweep ran on one target.
    public var clusterMasters: [Int]?
    /// The open-loop rates compared (`--rate LIST`), orders per second, and their arrival; `nil` for closed loops.
    public var rates: [Double]?
    public var arrival: Arrival.Process?
    /// `--p99-target`, in microseconds; `nil` without one.
    public var p99TargetUs: Double?

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
        backoffWait = base.backoffWait.rawValue
        watchAhead = base.watchesAhead
        connectTimeoutMs = base.connectTimeoutMilliseconds
        commandTimeoutMs = base.commandTimeoutMilliseconds
        seed = base.seed
        seedString = String(base.seed)
        self.tolerance = tolerance
        clusterMasters = configuration.clusterMasters.isEmpty ? nil : configuration.clusterMasters
        rates = configuration.rates.isEmpty ? nil : configuration.rates
        arrival = configuration.rates.isEmpty ? nil : configuration.arrival
        p99TargetUs = configuration.p99TargetMicroseconds
    }
}
