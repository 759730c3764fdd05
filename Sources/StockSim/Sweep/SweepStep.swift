import Foundation
import Hiredis
import Logging

/// One run of a sweep: which point and which repeat, and where it falls in the whole sweep.
public struct SweepStep: Sendable, Hashable {
    /// 1-based position of the run in the sweep.
    public var index: Int
    /// Runs in the whole sweep.
    public var count: Int
    public var strategy: Strategy
    public var workers: Int
    /// 1-based repeat of this point.
    public var repetition: Int
    public var repeats: Int
    /// The masters of the embedded cluster the run is on, when the sweep compares master counts.
    public var masters: Int? = nil
    /// The open loop's rate, orders per second, when the sweep compares rates (`--rate LIST`).
    public var rate: Double? = nil
}
