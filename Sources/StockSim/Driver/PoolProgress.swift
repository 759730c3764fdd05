/// Live figures summed over the workers, for a progress display.
public struct PoolProgress: Sendable, Hashable {
    public var units: Int
    public var orders: Int
    public var attempts: Int
    public var conflicts: Int
    /// Seconds since the start barrier opened.
    public var elapsed: Double
}
