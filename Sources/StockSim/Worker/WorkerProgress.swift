/// What a worker has acknowledged so far, sent about ten times a second.
struct WorkerProgress: Codable, Sendable, Equatable {
    var units = 0
    var orders = 0
    var attempts = 0
    var conflicts = 0
}
