import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The driver's file descriptors, counted before it spawns workers: it holds two pipe ends per worker for the whole
/// run, so many workers under a low `ulimit -n` would fail half-way with "Too many open files".
enum DescriptorBudget {
    /// Descriptors the driver opens during a run besides the worker pipes: the pipe pair of the worker being spawned,
    /// connections for the nemesis and the audit, files the embedded server's restart opens.
    static let headroom = 16

    /// The descriptors the driver has open now.
    static func openNow() -> Int {
        // /proc/self/fd lists them (plus the one that reads it); elsewhere assume the standard three.
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 4
        return max(3, entries - 1)
    }

    /// The descriptors a run with `workers` workers needs in the driver, with `open` open now.
    static func needed(workers: Int, open: Int) -> Int { open + 2 * workers + headroom }

    /// Raises the soft `RLIMIT_NOFILE` up to the hard limit when that is enough, and refuses the run when it is not.
    ///
    /// - Parameter workers: the number of worker processes.
    /// - Throws: `SimulationError` `.workersFailedToStart` naming the descriptors needed and the limit.
    static func check(workers: Int) throws(SimulationError) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let open = openNow()
        let need = needed(workers: workers, open: open)
        let soft = limit.rlim_cur == rlim_t.max ? Int.max : Int(limit.rlim_cur)
        guard need > soft else { return }
        let hard = limit.rlim_max == rlim_t.max ? Int.max : Int(limit.rlim_max)
        if need <= hard {
            limit.rlim_cur = rlim_t(need)
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 { return }
        }
        let most = max(0, (min(soft, hard) - open - headroom) / 2)
        throw SimulationError(
            .workersFailedToStart,
            "for \(NumberText.count(workers, "worker")) the driver needs about \(need) file descriptors (2 per worker, \(open) open now, \(headroom) spare), but ulimit -n allows \(min(soft, hard)); raise it (ulimit -n \(need)) or use at most \(most) --workers"
        )
    }
}
