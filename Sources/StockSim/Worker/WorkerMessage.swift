/// What a worker tells the driver, one JSON line each on its stdout.
enum WorkerMessage: Codable, Sendable, Equatable {
    /// Connected; waiting for `go`.
    case ready
    /// What it has acknowledged so far, about ten times a second.
    case progress(WorkerProgress)
    /// One second of its sale, once it has closed (an order ended in a later second, or the sale ended), oldest
    /// first and each second once; always after a `progress` that counts every order in it.
    case interval(WorkerInterval)
    /// Its sales loop ended; the report follows the last sale.
    case done(WorkerReport)
    /// It could not start: no assignment, or no connection.
    case failed(String)
}
