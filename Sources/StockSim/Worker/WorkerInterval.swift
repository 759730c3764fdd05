import Histogram

/// One second of one worker's sale, counted by when each order ended: what `intervals[]` of the report is made of.
/// A worker sends each as `WorkerMessage.interval` once it has closed; a host of a run of several hosts forwards its
/// workers' seconds added up in the same shape (`HostMessage.intervals`).
struct WorkerInterval: Codable, Sendable, Equatable {
    /// Seconds since the run's start barrier opened (0: the first second), the same seconds for every worker.
    var second: Int
    /// Orders sold, and their units.
    var orders = 0
    var units = 0
    var conflicts = 0
    /// Orders refused as out of stock.
    var refusals = 0
    /// The latencies of its sales, in microseconds: from the due time in an open loop, else from the first attempt.
    var latency = HistogramCounts()
}

/// A worker's intervals as it sells: the current second's counts and histogram, closed into a `WorkerInterval` when
/// an order ends in a later second. A closed second waits only until the worker takes it (`takeClosed()`) to send it.
struct IntervalRecorder {
    private let start: UInt64
    /// Closed and not yet taken: at most one between two orders.
    private(set) var closed: [WorkerInterval] = []
    private var current = WorkerInterval(second: 0)
    private var latency = Histogram<UInt64>.saleLatency()
    private var touched = false

    /// - Parameter start: where second 0 starts, in CLOCK_MONOTONIC nanoseconds: the run's start barrier.
    init(start: UInt64) { self.start = start }

    /// Counts an order that ended at `end` (CLOCK_MONOTONIC nanoseconds).
    mutating func record(_ outcome: SaleOutcome, units: Int, latencyMicroseconds: UInt64, end: UInt64) {
        let second = end > start ? Int((end - start) / 1_000_000_000) : 0
        if second != current.second {
            close()
            current = WorkerInterval(second: second)
        }
        touched = true
        switch outcome {
        case .sold(_, let conflicts, _), .alreadyRecorded(_, let conflicts):
            current.orders += 1
            current.units += units
            current.conflicts += conflicts
            latency.record(latencyMicroseconds)
        case .outOfStock(_, _, let conflicts):
            current.refusals += 1
            current.conflicts += conflicts
        case .gaveUp(_, let conflicts):
            current.conflicts += conflicts
        }
    }

    /// The seconds closed since the last call, oldest first; they are the caller's to send.
    mutating func takeClosed() -> [WorkerInterval] {
        defer { closed.removeAll(keepingCapacity: true) }
        return closed
    }

    /// The seconds not yet taken, the current one closed: the last to send.
    mutating func finish() -> [WorkerInterval] {
        close(reopening: false)
        return takeClosed()
    }

    /// Closes the current second; `reopening` starts the next one's histogram (not after the last second).
    private mutating func close(reopening: Bool = true) {
        guard touched else { return }
        current.latency = HistogramCounts(latency)
        closed.append(current)
        // A new histogram rather than `reset()`: the package's `reset()` is not inlinable, so it runs unspecialized,
        // one value-witness call per count, about 110 instructions for each of the 21,000 counts: 2.4 million
        // instructions a second in every worker, where zeroing new counts takes a tenth of that.
        if reopening { latency = Histogram<UInt64>.saleLatency() }
        touched = false
    }
}
