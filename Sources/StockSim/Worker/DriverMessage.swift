/// What the driver tells a worker, one JSON line each on its stdin.
enum DriverMessage: Codable, Sendable, Equatable {
    /// Who the worker is and what it sells; the first message.
    case assignment(WorkerAssignment)
    /// The start barrier opens: sell.
    case go
    /// Stop selling and report.
    case stop
}
