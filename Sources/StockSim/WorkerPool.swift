import Foundation
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// Live figures summed over the workers, for a progress display.
public struct PoolProgress: Sendable, Hashable {
    public var units: Int
    public var orders: Int
    public var attempts: Int
    public var conflicts: Int
    /// Seconds since the start barrier opened.
    public var elapsed: Double
}

/// How one worker process ended.
struct WorkerOutcome: Sendable {
    var index: Int
    var pid: Int32
    /// The report it sent, or `nil` when it died without one.
    var report: WorkerReport?
    var termination: ChildProcess.Termination
    /// Peak resident memory, from the kernel's accounting of the reaped child (wait4).
    var peakRSSBytes: Int
    /// The last progress line it sent: what it had acknowledged, if it died before its report.
    var lastProgress: (units: Int, orders: Int, attempts: Int, conflicts: Int)
    /// An `error` line it sent before `ready`.
    var startError: String?
}

struct PoolResult: Sendable {
    var workers: [WorkerOutcome]
    /// From the first spawn until every worker had connected and said `ready`.
    var spawnSeconds: Double
    /// From the start barrier until the last worker ended.
    var elapsedSeconds: Double
}

/// Why the pool could not run.
struct PoolStartError: Error {
    var message: String
}

/// The process pool: spawns worker processes (re-executing the `stocksim` binary in its hidden worker mode), releases
/// them together at a start barrier, streams their progress and collects their reports. A worker that crashes is
/// reported with its pid and signal or status; it never hangs the driver.
final class WorkerPool {
    private struct Worker {
        var index: Int
        var process: ChildProcess
        var stdin: Int32
        var stdout: Int32
        var buffer: [UInt8] = []
        var ready = false
        var open = true
        var report: WorkerReport?
        var startError: String?
        var lastProgress = (units: 0, orders: 0, attempts: 0, conflicts: 0)
    }

    private var workers: [Worker] = []
    private var processGroup: Int32?

    /// Spawns one worker per assignment and waits until all are connected.
    ///
    /// - Parameters:
    ///   - executable: the `stocksim` binary.
    ///   - arguments: the arguments that put it into worker mode.
    ///   - assignments: one per worker.
    ///   - readyTimeout: time allowed for all workers to connect.
    /// - Throws: `PoolStartError` naming the first worker that failed; every worker is stopped and reaped first.
    func start(executable: String, arguments: [String], assignments: [WorkerAssignment], readyTimeout: Duration)
        throws(PoolStartError)
    {
        // Writing to the stdin of a worker that died must be an EPIPE, not a SIGPIPE that kills the driver.
        signal(SIGPIPE, SIG_IGN)
        let encoder = JSONEncoder()
        for assignment in assignments {
            do {
                let input = try Spawn.Pipe()
                let output = try Spawn.Pipe()
                // All workers share one process group, so the driver can signal (and in the worst case kill) them
                // all at once, and a Ctrl-C at the terminal reaches only the driver.
                let process = try ChildProcess.spawn(
                    executable, arguments: arguments, stdin: .descriptor(input.readEnd),
                    stdout: .descriptor(output.writeEnd), stderr: .inherit, processGroup: processGroup ?? 0)
                if processGroup == nil { processGroup = process.pid }
                close(input.readEnd)
                close(output.writeEnd)
                workers.append(
                    Worker(index: assignment.index, process: process, stdin: input.writeEnd, stdout: output.readEnd))
                guard let json = try? encoder.encode(assignment) else {
                    throw PoolStartError(message: "cannot encode the assignment of worker \(assignment.index)")
                }
                send(json + Array("\n".utf8), to: workers.count - 1)
            } catch let error as ChildProcess.SpawnError {
                abort()
                throw PoolStartError(message: "cannot start worker \(assignment.index): \(error.message)")
            } catch let error as PoolStartError {
                abort()
                throw error
            } catch {
                abort()
                throw PoolStartError(message: "cannot start worker \(assignment.index): \(error)")
            }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + readyTimeout
        while workers.contains(where: { $0.open && !$0.ready }) {
            if let failed = workers.first(where: { $0.startError != nil || (!$0.open && !$0.ready) }) {
                let reason = failed.startError ?? "it exited before connecting"
                abort()
                throw PoolStartError(message: "worker \(failed.index) could not start: \(reason)")
            }
            guard clock.now < deadline else {
                let waiting = workers.filter { !$0.ready }.count
                abort()
                throw PoolStartError(message: "\(waiting) workers did not connect within \(readyTimeout)")
            }
            pollOnce(timeoutMilliseconds: 50)
        }
        if let failed = workers.first(where: { !$0.ready }) {
            let reason = failed.startError ?? "it exited before connecting"
            abort()
            throw PoolStartError(message: "worker \(failed.index) could not start: \(reason)")
        }
    }

    /// Opens the start barrier, then streams progress until every worker has ended.
    ///
    /// - Parameters:
    ///   - progress: called about ten times a second with the sums so far.
    ///   - shouldStop: polled as often; when it turns true, workers are asked to stop and report.
    /// - Returns: every worker's outcome, in index order.
    ///   - tick: called with the progress and the pids of the live workers, as often as `progress` (the nemesis).
    func run(
        progress: (PoolProgress) -> Void, tick: (PoolProgress, [Int32]) -> Void = { _, _ in }, shouldStop: () -> Bool
    ) -> (outcomes: [WorkerOutcome], elapsed: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let startNanoseconds = monotonicNanoseconds()
        for index in workers.indices { send(Array("\(WorkerLine.go)\n".utf8), to: index) }
        var stopSentAt: ContinuousClock.Instant?
        var nextProgress = start + .milliseconds(100)
        while workers.contains(where: \.open) {
            pollOnce(timeoutMilliseconds: 20)
            let now = clock.now
            let current = sum(elapsed: (now - start) / .seconds(1))
            tick(current, workers.filter(\.open).map(\.process.pid))
            if now >= nextProgress {
                nextProgress = now + .milliseconds(100)
                progress(current)
            }
            if stopSentAt == nil, shouldStop() {
                stopSentAt = now
                for index in workers.indices where workers[index].open {
                    send(Array("\(WorkerLine.stop)\n".utf8), to: index)
                }
            }
            // Workers asked to stop get a few seconds to report; then they are killed.
            if let stopSentAt, now - stopSentAt > .seconds(5) {
                for worker in workers where worker.open { worker.process.signal(SIGKILL) }
            }
        }
        var elapsed = (clock.now - start) / .seconds(1)
        // The sale ended when the last worker's sales loop did; reporting and exiting come after. A worker that died
        // has no such stamp, and then the whole span counts.
        let reports = workers.compactMap(\.report)
        if reports.count == workers.count, let last = reports.map(\.finishedNanoseconds).max(), last > startNanoseconds
        {
            elapsed = Double(last - startNanoseconds) / 1e9
        }
        progress(sum(elapsed: elapsed))
        return (reap(), elapsed)
    }

    /// Stops every worker at once and reaps them.
    func abort() {
        for worker in workers where worker.open {
            worker.process.signal(SIGKILL)
        }
        _ = reap()
    }

    private func sum(elapsed: Double) -> PoolProgress {
        var total = PoolProgress(units: 0, orders: 0, attempts: 0, conflicts: 0, elapsed: elapsed)
        for worker in workers {
            total.units += worker.lastProgress.units
            total.orders += worker.lastProgress.orders
            total.attempts += worker.lastProgress.attempts
            total.conflicts += worker.lastProgress.conflicts
        }
        return total
    }

    /// Closes the pipes and reaps every worker, with its peak memory from wait4.
    private func reap() -> [WorkerOutcome] {
        var outcomes: [WorkerOutcome] = []
        for index in workers.indices {
            let worker = workers[index]
            if worker.open {
                close(worker.stdout)
                workers[index].open = false
            }
            if worker.stdin >= 0 {
                close(worker.stdin)
                workers[index].stdin = -1
            }
            var status: Int32 = 0
            var usage = rusage()
            while wait4(worker.process.pid, &status, 0, &usage) == -1 && errno == EINTR {}
            outcomes.append(
                WorkerOutcome(
                    index: worker.index, pid: worker.process.pid, report: worker.report,
                    termination: ChildProcess.termination(status), peakRSSBytes: Int(usage.ru_maxrss) * 1024,
                    lastProgress: worker.lastProgress, startError: worker.startError))
        }
        workers.removeAll()
        return outcomes
    }

    private func send(_ bytes: [UInt8], to index: Int) {
        let fd = workers[index].stdin
        guard fd >= 0 else { return }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // EPIPE: the worker is gone; its end of file will tell.
                }
                offset += written
            }
        }
    }

    /// Waits for output from any worker and handles every complete line.
    private func pollOnce(timeoutMilliseconds: Int32) {
        var descriptors = workers.filter(\.open).map { pollfd(fd: $0.stdout, events: Int16(POLLIN), revents: 0) }
        guard !descriptors.isEmpty else { return }
        let ready = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
        guard ready > 0 else { return }
        for descriptor in descriptors where descriptor.revents != 0 {
            guard let index = workers.firstIndex(where: { $0.open && $0.stdout == descriptor.fd }) else { continue }
            readAvailable(from: index)
        }
    }

    private func readAvailable(from index: Int) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { read(workers[index].stdout, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { return }
        guard count > 0 else {
            close(workers[index].stdout)
            workers[index].open = false
            return
        }
        workers[index].buffer.append(contentsOf: chunk[0..<count])
        while let newline = workers[index].buffer.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: workers[index].buffer[..<newline], as: UTF8.self)
            workers[index].buffer.removeSubrange(...newline)
            handle(line, from: index)
        }
    }

    private func handle(_ line: String, from index: Int) {
        let (word, rest) =
            line.firstIndex(of: " ").map { (line[..<$0], line[line.index(after: $0)...]) } ?? (line[...], "")
        switch word {
        case WorkerLine.ready[...]:
            workers[index].ready = true
        case WorkerLine.progress[...]:
            let numbers = rest.split(separator: " ").compactMap { Int($0) }
            if numbers.count == 4 {
                workers[index].lastProgress = (numbers[0], numbers[1], numbers[2], numbers[3])
            }
        case WorkerLine.done[...]:
            if let report = try? JSONDecoder().decode(WorkerReport.self, from: Data(rest.utf8)) {
                workers[index].report = report
                workers[index].lastProgress = (report.units, report.orders, report.attempts, report.conflicts)
            }
        case WorkerLine.failed[...]:
            workers[index].startError = String(rest)
        default:
            break
        }
    }
}
