import Foundation
import Spawn
import Synchronization

/// `--halt-poll NS`: how long an idle vCPU polls for work before it halts, on a virtual machine whose cpuidle driver
/// is `haltpoll`. This machine's kernel boots with `haltpoll.guest_halt_poll_ns=0`, so an idle vCPU halts at once and
/// a request or reply that must wake it waits for the host to run it again (about 100 µs here): one C loop worker
/// sold 2.7–3.4k/s with 0 and 24–36k/s with the kernel's default of 200 µs, the same program against the same server.
/// A comparison of programs whose sales are round trips measures those wake-ups unless the window is the same, and
/// known, for every contender; like `--cpus`, this takes the machine's state out of the ratios, and says so.
///
/// The window is a module parameter of the whole machine: it is written before the first run, and the value found
/// is written back when the benchmark ends, also on SIGINT and SIGTERM (not on SIGKILL).
struct HaltPolling {
    /// Where the kernel keeps the machine's window, in nanoseconds.
    static let parameter = "/sys/module/haltpoll/parameters/guest_halt_poll_ns"
    /// The kernel's own default for the window (`drivers/cpuidle/governors/haltpoll.c`).
    static let kernelDefault = 200_000
    /// The widest window `--halt-poll` sets: past a millisecond an idle vCPU is a spinning one.
    static let limit = 1_000_000

    /// The window found at `path`, in nanoseconds; `nil` when the machine has no such parameter (not a `haltpoll`
    /// guest) or it cannot be read.
    static func window(at path: String = parameter) -> Int? {
        Int(TextFile.read(path).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Writes `nanoseconds` as the window at `path` and returns the window it replaced.
    ///
    /// - Throws: `SetupFailure` when the machine has no such parameter or it cannot be written (not root).
    static func set(_ nanoseconds: Int, at path: String = parameter) throws(SetupFailure) -> Int {
        guard let found = window(at: path) else {
            throw SetupFailure(
                "--halt-poll: this machine has no \(path) (its idle CPUs are not a haltpoll guest's); run without --halt-poll"
            )
        }
        try write(nanoseconds, at: path, what: "--halt-poll")
        return found
    }

    /// Writes `nanoseconds` at `path`.
    static func write(_ nanoseconds: Int, at path: String, what: String) throws(SetupFailure) {
        let descriptor = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw SetupFailure(
                "\(what): cannot write \(path): \(reason)"
                    + (errno == EACCES || errno == EPERM ? "; run as root, or without --halt-poll" : ""))
        }
        defer { close(descriptor) }
        let bytes = Array("\(nanoseconds)\n".utf8)
        guard Glibc.write(descriptor, bytes, bytes.count) == bytes.count else {
            throw SetupFailure("\(what): cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The window to write back when the benchmark ends, plus one; 0 while nothing is to be restored. Read by the
    /// signal handler, which must restore it before it exits.
    static let pendingRestore = Atomic<Int>(0)

    /// Sets the window for the run and remembers the one found, for ``restore(at:)``.
    static func setForRun(_ nanoseconds: Int, at path: String = parameter) throws(SetupFailure) -> Int {
        let found = try set(nanoseconds, at: path)
        pendingRestore.store(found + 1, ordering: .sequentiallyConsistent)
        return found
    }

    /// Writes back the window found by ``setForRun(_:at:)``, once; nothing when none was set. Safe to call from the
    /// signal handler and from the main thread's `defer` alike: only the first caller writes.
    static func restore(at path: String = parameter) {
        let pending = pendingRestore.exchange(0, ordering: .sequentiallyConsistent)
        guard pending > 0 else { return }
        do {
            try write(pending - 1, at: path, what: "restoring the halt-poll window")
        } catch {
            FileHandle.standardError.write(
                Data("stocksim-benchmark: \(error.message); write \(pending - 1) there by hand\n".utf8))
        }
    }

    /// The header line: what an idle CPU does here, and whether this run changed it.
    static func describe(window: Int?, found: Int?, driver: String?) -> String {
        guard let window else {
            return
                "cpuidle: \(driver ?? "unknown driver"); no haltpoll window to set (--halt-poll needs a haltpoll guest)"
        }
        let now =
            window == 0
            ? "guest_halt_poll_ns 0: an idle vCPU halts at once, and a round trip that must wake one pays for it"
                + " (--halt-poll \(kernelDefault), the kernel's default, to compare programs rather than wake-ups)"
            : "guest_halt_poll_ns \(window): an idle vCPU polls up to \(microseconds(window)) before it halts"
        guard let found, found != window else { return "cpuidle: haltpoll, \(now)" }
        return "cpuidle: haltpoll, \(now); set by --halt-poll for this run, \(found) restored at the end"
    }

    static func microseconds(_ nanoseconds: Int) -> String {
        nanoseconds % 1000 == 0 ? "\(nanoseconds / 1000) µs" : String(format: "%.1f µs", Double(nanoseconds) / 1000)
    }

    /// The name of the machine's cpuidle driver, when the kernel says.
    static var driver: String? {
        let name = TextFile.read("/sys/devices/system/cpu/cpuidle/current_driver")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }
}
