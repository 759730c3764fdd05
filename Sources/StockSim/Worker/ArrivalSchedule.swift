import Hiredis

#if canImport(Glibc)
import Glibc
#endif

/// One worker's share of an open loop's schedule: when each of its orders is due, in CLOCK_MONOTONIC nanoseconds.
/// Worker i of n sells rate / n orders a second; constant gaps interleave the workers (worker i starts i / n of a
/// gap in), Poisson gaps are exponential draws from a generator seeded by the run's seed and the worker's index.
struct ArrivalSchedule {
    private let process: Arrival.Process
    /// The mean gap between this worker's orders, in nanoseconds.
    private let gap: Double
    private var random: SplitMix64
    private let start: UInt64
    /// Nanoseconds after `start` the next order is due.
    private var offset: Double

    init(_ arrival: Arrival, worker index: Int, of workers: Int, seed: UInt64, start: UInt64) {
        process = arrival.process
        gap = 1e9 * Double(workers) / arrival.rate
        random = SplitMix64(seed: (seed ^ 0x6F70_656E_6C6F_6F70) &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
        self.start = start
        offset = 0
        offset = process == .constant ? gap * Double(index) / Double(workers) : nextGap()
    }

    /// When the next order is due; each call moves the schedule one order on.
    mutating func next() -> UInt64 {
        let due = start + UInt64(offset)
        offset += nextGap()
        return due
    }

    private mutating func nextGap() -> Double {
        switch process {
        case .constant: return gap
        case .poisson:
            // Uniform in (0, 1], so the logarithm is finite.
            let uniform = Double((random.next() >> 11) + 1) / 9_007_199_254_740_992
            return -log(uniform) * gap
        }
    }

    /// Sleeps until `due` (CLOCK_MONOTONIC nanoseconds) without spinning, in slices of at most 100 ms so that a stop
    /// is noticed; returns early when `stop` says so.
    static func sleep(until due: UInt64, stop: () -> Bool) {
        while !stop() {
            let now = monotonicNanoseconds()
            guard now < due else { return }
            let wake = min(due, now + 100_000_000)
            var target = timespec(tv_sec: Int(wake / 1_000_000_000), tv_nsec: Int(wake % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
        }
    }
}
