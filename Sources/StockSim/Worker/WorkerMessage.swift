/// What a worker tells the driver, one JSON line each on its stdout.
enum WorkerMessage: Codable, Sendable, Equatable {
    /// Connected; waiting for `go`.
    case ready
    /// What it has acknowledged so far, about ten times a second.
    case progress(WorkerProgress)
    /// Its sales loop ended; the report follows the last sale.
    case done(WorkerReport)
    /// It could not start: no assignment, or no connection.
    case failed(String)
}
