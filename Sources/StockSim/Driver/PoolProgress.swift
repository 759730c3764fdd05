/// Live figures summed over the workers, for a progress display.
public struct PoolProgress: Sendable, Hashable {
    public var units: Int
    public var orders: Int
    public var attempts: Int
    public var conflicts: Int
    /// Seconds since the start barrier opened.
    public var elapsed: Double

    init(_ totals: WorkerProgress, elapsed: Double) {
        units = totals.units
        orders = totals.orders
        attempts = totals.attempts
        conflicts = totals.conflicts
        self.elapsed = elapsed
    }

    /// The workers' figures, summed.
    var totals: WorkerProgress {
        WorkerProgress(units: units, orders: orders, attempts: attempts, conflicts: conflicts)
    }
}
