/// `--duration`: the deadline of a run's sale, counted from the first time it is checked, which the pool does right
/// after the start barrier.
struct TimeLimit {
    private let limit: Duration?
    private var deadline: ContinuousClock.Instant?
    /// True once the deadline has passed.
    private(set) var reached = false

    init(milliseconds: Int?) {
        limit = milliseconds.map { .milliseconds($0) }
    }

    /// Whether the deadline has passed; the first call starts the clock.
    mutating func check() -> Bool {
        guard let limit, !reached else { return reached }
        let now = ContinuousClock.now
        let deadline = self.deadline ?? now + limit
        self.deadline = deadline
        reached = now >= deadline
        return reached
    }
}
