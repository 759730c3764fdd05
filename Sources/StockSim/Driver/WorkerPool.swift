import Foundation
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// Why the pool could not run.
struct PoolStartError: Error {
    var message: String
}

/// The process pool: spawns worker processes (re-executing the `stocksim` binary in its hidden worker mode), releases
/// them together at a start barrier, streams their progress, folds each second of their sale into the run's
/// `IntervalTally` as it comes and collects their reports. A worker that crashes is
/// reported with its pid and signal or status; it never hangs the driver.
final class WorkerPool {
    private struct Worker {
        var index: Int
        var process: ChildProcess
        /// Writes the worker's stdin, reads its stdout.
        var channel: LineChannel
        var ready = false
        var open = true
        var report: WorkerReport?
        var failure: String?
        var lastProgress = WorkerProgress()
    }

    private var workers: [Worker] = []
    /// Where the workers' seconds go while `run` lasts.
    private var intervals: IntervalTally?
    /// Forks the workers and reports how each ended.
    private var server: ForkServer?

    /// Spawns one worker per assignment and waits until all are connected.
    ///
    /// Workers are forked by one fork server (`executable arguments --fork-server`, see `ForkServer`), which
    /// spares each worker the cost of an exec; the server reaps them and reports how each ended. A worker program
    /// that is no fork server (a test's stand-in) is spawned once per worker instead.
    ///
    /// - Parameters:
    ///   - executable: the `stocksim` binary.
    ///   - arguments: the arguments that put it into worker mode.
    ///   - forkServer: false when `executable` cannot serve as a fork server.
    ///   - assignments: one per worker.
    ///   - readyTimeout: time allowed for all workers to connect.
    /// - Throws: `PoolStartError` naming the first worker that failed; every worker is stopped and reaped first.
    func start(
        executable: String, arguments: [String], forkServer: Bool = true, assignments: [WorkerAssignment],
        readyTimeout: Duration
    ) throws(PoolStartError) {
        // Writing to the stdin of a worker that died must be an EPIPE, not a SIGPIPE that kills the driver.
        signal(SIGPIPE, SIG_IGN)
        do {
            // The server and every worker share one process group of their own, so a Ctrl-C at the terminal
            // reaches only the driver, which then stops its workers in order.
            server =
                forkServer
                ? try ForkServer(
                    executable: executable, arguments: arguments + ["--fork-server"], processGroup: 0,
                    timeout: readyTimeout) : nil
        } catch {
            throw PoolStartError(message: "cannot start the workers: \(error.message)")
        }
        for assignment in assignments {
            do throws(ChildProcess.SpawnError) {
                let input = try PipeDescriptors()
                let output = try PipeDescriptors()
                // The children's ends are theirs once the server has them; the driver keeps the other two.
                defer {
                    close(input.readEnd)
                    close(output.writeEnd)
                }
                let process: ChildProcess
                do throws(ChildProcess.SpawnError) {
                    if let server {
                        process = try server.spawn(stdin: input.readEnd, stdout: output.writeEnd)
                    } else {
                        process = try ChildProcess.spawn(
                            executable, arguments: arguments, stdin: .descriptor(input.readEnd),
                            stdout: .descriptor(output.writeEnd), stderr: .inherit,
                            processGroup: workers.first?.process.pid ?? 0)
                    }
                } catch {
                    close(input.writeEnd)
                    close(output.readEnd)
                    throw error
                }
                let channel = LineChannel(input: output.readEnd, output: input.writeEnd)
                workers.append(Worker(index: assignment.index, process: process, channel: channel))
                channel.send(DriverMessage.assignment(assignment))
            } catch {
                abort()
                throw PoolStartError(message: "cannot start worker \(assignment.index): \(error.message)")
            }
        }
        server?.finishSpawning()
        let clock = ContinuousClock()
        let deadline = clock.now + readyTimeout
        while workers.contains(where: { $0.open && !$0.ready }) {
            if let failed = workers.first(where: { $0.failure != nil || (!$0.open && !$0.ready) }) {
                let reason = failed.failure ?? "it exited before connecting"
                abort()
                throw PoolStartError(message: "worker \(failed.index) could not start: \(reason)")
            }
            guard clock.now < deadline else {
                let waiting = workers.filter { !$0.ready }.count
                abort()
                throw PoolStartError(
                    message: "\(NumberText.count(waiting, "worker")) did not connect within \(readyTimeout)")
            }
            pollOnce(timeoutMilliseconds: 50)
        }
        if let failed = workers.first(where: { !$0.ready || $0.failure != nil }) {
            let reason = failed.failure ?? "it exited before connecting"
            abort()
            throw PoolStartError(message: "worker \(failed.index) could not start: \(reason)")
        }
    }

    /// Opens the start barrier, then streams progress until every worker has ended.
    ///
    /// - Parameters:
    ///   - intervals: takes each second a worker sends as it comes; a worker that ends holds none back.
    ///   - progress: called about ten times a second with the sums so far.
    ///   - tick: called with the progress and the pids of the live workers, as often as `progress` (the nemesis).
    ///   - shouldStop: polled as often; when it turns true, workers are asked to stop and report.
    /// - Returns: every worker's outcome, in index order, and the seconds the sale took.
    func run(
        intervals: IntervalTally, progress: (PoolProgress) -> Void, tick: (PoolProgress, [Int32]) -> Void = { _, _ in },
        shouldStop: () -> Bool
    ) -> (outcomes: [WorkerOutcome], elapsed: Double) {
        self.intervals = intervals
        defer { self.intervals = nil }
        for worker in workers { intervals.expect(.worker(worker.index)) }
        let clock = ContinuousClock()
        let start = clock.now
        let startNanoseconds = monotonicNanoseconds()
        for worker in workers { worker.channel.send(DriverMessage.go(startNanoseconds: startNanoseconds)) }
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
                for worker in workers where worker.open { worker.channel.send(DriverMessage.stop) }
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
        var totals = WorkerProgress()
        for worker in workers { totals += worker.lastProgress }
        return PoolProgress(totals, elapsed: elapsed)
    }

    /// Closes the pipes and reaps every worker, with its peak memory from wait4.
    private func reap() -> [WorkerOutcome] {
        var outcomes: [WorkerOutcome] = []
        for index in workers.indices {
            workers[index].channel.closeInput()
            workers[index].channel.closeOutput()
            workers[index].open = false
            intervals?.end(.worker(workers[index].index))
            let worker = workers[index]
            // A server killed from outside cannot report its children any more: their end is unknown.
            let ending: (termination: ChildProcess.Termination, usage: ResourceUsage)? =
                if let server { server.waitForExit(of: worker.process.pid) } else { worker.process.waitWithUsage() }
            outcomes.append(
                WorkerOutcome(
                    index: worker.index, pid: worker.process.pid, report: worker.report,
                    termination: ending?.termination ?? .exited(-1),
                    peakRSSBytes: ending?.usage.maxResidentBytes ?? 0, lastProgress: worker.lastProgress,
                    failure: worker.failure))
        }
        workers.removeAll()
        server?.wait()
        server = nil
        return outcomes
    }

    /// Waits for output from any worker and handles every complete message.
    private func pollOnce(timeoutMilliseconds: Int32) {
        let listening = workers.indices.filter { workers[$0].open }
        var descriptors = listening.map { pollfd(fd: workers[$0].channel.input, events: Int16(POLLIN), revents: 0) }
        guard !descriptors.isEmpty else { return }
        let ready = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
        guard ready > 0 else { return }
        for (index, descriptor) in zip(listening, descriptors) where descriptor.revents != 0 {
            let (messages, open) = workers[index].channel.receiveAvailable(WorkerMessage.self)
            for message in messages { handle(message, from: index) }
            if !open {
                workers[index].channel.closeInput()
                workers[index].open = false
                // What it sent stays folded; what it had not sent is gone with it.
                intervals?.end(.worker(workers[index].index))
            }
        }
    }

    private func handle(_ message: Result<WorkerMessage, LineChannel.UndecodableLine>, from index: Int) {
        switch message {
        case .success(.ready):
            workers[index].ready = true
        case .success(.progress(let progress)):
            workers[index].lastProgress = progress
        case .success(.interval(let interval)):
            intervals?.add(interval, from: .worker(workers[index].index))
        case .success(.done(let report)):
            workers[index].report = report
            workers[index].lastProgress = report.progress
            intervals?.end(.worker(workers[index].index))
        case .success(.failed(let reason)):
            workers[index].failure = workers[index].failure ?? reason
        case .failure(let undecodable):
            workers[index].failure = workers[index].failure ?? undecodable.description
        }
    }
}
