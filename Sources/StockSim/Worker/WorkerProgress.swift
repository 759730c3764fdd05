/// What a worker has acknowledged so far, sent about ten times a second.
struct WorkerProgress: Codable, Sendable, Equatable {
    var units = 0
    var orders = 0
    var attempts = 0
    var conflicts = 0

    /// Adds another worker's (or host's) figures.
    static func += (total: inout WorkerProgress, other: WorkerProgress) {
        total.units += other.units
        total.orders += other.orders
        total.attempts += other.attempts
        total.conflicts += other.conflicts
    }
}
