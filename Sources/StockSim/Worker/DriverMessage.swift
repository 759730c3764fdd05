/// What the driver tells a worker, one JSON line each on its stdin.
enum DriverMessage: Codable, Sendable, Equatable {
    /// Who the worker is and what it sells; the first message.
    case assignment(WorkerAssignment)
    /// The start barrier opens: sell. `startNanoseconds` is when it opened, on the driver's CLOCK_MONOTONIC (one
    /// clock for every process on the machine): the run's common start, from which every worker counts the seconds
    /// of its intervals, so that second N is the same wall second for all of them.
    case go(startNanoseconds: UInt64)
    /// Stop selling and report.
    case stop
}
