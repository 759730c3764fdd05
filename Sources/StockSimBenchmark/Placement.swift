import Spawn

/// `--cpus`: where the benchmark's processes run. On a virtual machine whose idle CPUs halt (this one's kernel runs
/// `haltpoll.guest_halt_poll_ns=0`), a round trip that wakes a process on another CPU costs tens of microseconds, and
/// where the scheduler happens to put redis-server and a contender's few workers can change a run's rate several
/// times over: one C worker sold 3.9k/s on a CPU of its own and 41k/s beside redis-server. Pinning puts every
/// contender in the same place, so a ratio compares programs rather than placements.
enum Placement: String, CaseIterable {
    /// The scheduler places redis-server and every contender.
    case free
    /// redis-server on the first CPU this process may use; every contender's processes on the others.
    case split
    /// redis-server and every contender on the first CPU: no cross-CPU wake-ups, and every microsecond of a
    /// contender's CPU per sale shows in its rate.
    case shared

    /// The CPUs for redis-server and for the contenders, from those this process may use; `nil` for `free`.
    ///
    /// - Throws: `SetupFailure` when `split` has fewer than two CPUs to split.
    func cpus(allowed: [Int]) throws(SetupFailure) -> (server: [Int], contenders: [Int])? {
        guard self != .free else { return nil }
        guard let first = allowed.first else {
            throw SetupFailure("--cpus \(rawValue): cannot read which CPUs this process may use; run with --cpus free")
        }
        if self == .shared { return ([first], [first]) }
        guard allowed.count >= 2 else {
            throw SetupFailure(
                "--cpus split needs two CPUs and this process may use only CPU \(first); run with --cpus free or shared"
            )
        }
        return ([first], Array(allowed.dropFirst()))
    }

    /// The header line that says where everything runs.
    static func describe(_ cpus: (server: [Int], contenders: [Int])?, _ placement: Placement) -> String {
        guard let cpus else { return "cpus: the scheduler places redis-server and every contender (--cpus free)" }
        let list = { (set: [Int]) in (set.count == 1 ? "CPU " : "CPUs ") + set.map(String.init).joined(separator: ",") }
        return "cpus: redis-server on \(list(cpus.server)), every contender's processes on \(list(cpus.contenders))"
            + " (--cpus \(placement.rawValue))"
    }

    /// Runs the calling thread, and so everything it starts from now on, on `cpus`.
    static func runOn(_ cpus: [Int]) throws(SetupFailure) {
        do {
            try CPUAffinity.runOn(cpus)
        } catch {
            throw SetupFailure("\(error.message); run with --cpus free")
        }
    }
}
