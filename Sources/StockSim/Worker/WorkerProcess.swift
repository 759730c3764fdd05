import Foundation
import Hiredis
import Histogram
import Spawn
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Set by the stdin watcher when the driver asks the worker to stop.
private let stopRequested = Atomic<Bool>(false)

/// The worker process: `stocksim worker` (hidden) runs this. It reads its assignment on stdin, connects, says
/// `ready`, waits for `go`, sells, streams `progress` messages (ten a second, fewer beyond 8 workers) and each second
/// of its sale as it closes (`interval`), and ends with `done` and its report. When its stdin closes (the driver died) it exits at once.
public enum WorkerProcess {
    /// Runs the worker protocol on stdin and stdout; returns the process exit status.
    public static func main() -> Int32 {
        var channel = LineChannel(input: 0, output: 1)
        guard case .assignment(let assignment)? = try? channel.receive(DriverMessage.self) else {
            channel.send(
                WorkerMessage.failed("no assignment on stdin: this mode is for stocksim's driver, not for people"))
            return 2
        }
        let router: SaleRouter
        do {
            var options = assignment.configuration.connectionOptions
            if assignment.namedConnection { options.clientName = "stocksim-\(assignment.runID)-w\(assignment.index)" }
            router = try SaleRouter(
                url: assignment.redisURL, layout: assignment.configuration.layout, options: options)
        } catch {
            channel.send(WorkerMessage.failed(error.message))
            return 2
        }
        // The user's program connects before this worker says ready, so the start barrier holds for it too.
        var program: UserProgram?
        if let command = assignment.configuration.workerCommand, assignment.configuration.strategy == .command {
            do {
                program = try UserProgram(assignment: assignment, command: command)
            } catch {
                channel.send(WorkerMessage.failed("\(error)"))
                return 2
            }
        }
        channel.send(WorkerMessage.ready)
        guard case .go(let runStart)? = try? channel.receive(DriverMessage.self) else { return 3 }
        watchForStop(channel)
        let report = sell(assignment, on: router, channel: channel, program: program, runStart: runStart)
        return channel.send(WorkerMessage.done(report)) ? 0 : 2
    }

    /// Runs once in the fork server before it forks any worker: every message type the protocol carries is encoded
    /// and decoded, and the histograms are built, so the runtime's type metadata and protocol conformances are
    /// looked up there, once, and every forked worker inherits them instead of paying for the lookups itself (they
    /// were a third of a worker's start-up CPU).
    public static func warmUp() {
        let assignment = WorkerAssignment(
            index: 0, runID: "00000000", redisURL: "redis://127.0.0.1:6379",
            configuration: SimulationConfiguration(seed: 0), orderQuota: nil, scriptSHA: "", namedConnection: false)
        var report = WorkerReport(index: 0)
        report.latency = HistogramCounts(Histogram<UInt64>.saleLatency())
        report.retries = HistogramCounts(Histogram<UInt64>.saleRetries())
        let messages: [WorkerMessage] = [
            .ready, .progress(WorkerProgress()), .interval(WorkerInterval(second: 0)), .done(report), .failed(""),
        ]
        let encoder = JSONEncoder()
        for message in [DriverMessage.assignment(assignment), .go(startNanoseconds: 0), .stop] {
            if let line = try? encoder.encode(message) { _ = try? JSONDecoder().decode(DriverMessage.self, from: line) }
        }
        for message in messages {
            if let line = try? encoder.encode(message) { _ = try? JSONDecoder().decode(WorkerMessage.self, from: line) }
        }
    }

    /// The sales loop, for 1…K SKUs per order: each order takes its quantity of `cartSize` distinct in-stock SKUs of
    /// one group, drawn by the skew; the worker stops when no group has that many SKUs left, or at its quota. Its
    /// intervals count seconds from `runStart`, the run's start barrier (CLOCK_MONOTONIC nanoseconds), or from its
    /// own start without one.
    static func sell(
        _ assignment: WorkerAssignment, on router: SaleRouter, channel: LineChannel,
        program: UserProgram? = nil, runStart: UInt64? = nil
    ) -> WorkerReport {
        var report = WorkerReport(index: assignment.index)
        let start = monotonicNanoseconds()
        var histograms = SaleHistograms(
            openLoop: assignment.configuration.arrival != nil, intervalsFrom: min(runStart ?? start, start))
        var recorder: SaleRecorder?
        if let path = assignment.recordPath {
            do {
                recorder = try SaleRecorder(
                    path: path, flushEachOrder: assignment.flushEachOrder, recordsInvokes: assignment.recordsHistory,
                    stampsTime: assignment.recordsHistory)
            } catch {
                report.error = error.message
                return report
            }
        }
        sell(
            assignment, on: router, channel: channel, recorder: recorder, program: program, into: &report,
            histograms: &histograms, start: start)
        recorder?.flush()
        if let failure = recorder?.failure { report.error = report.error ?? failure }
        report.finishedNanoseconds = monotonicNanoseconds()
        report.latency = HistogramCounts(histograms.latency)
        report.retries = HistogramCounts(histograms.retries)
        if let corrected = histograms.corrected { report.correctedLatency = HistogramCounts(corrected) }
        send(histograms.intervals.finish(), after: report.progress, on: channel)
        return report
    }

    private static func sell(
        _ assignment: WorkerAssignment, on router: SaleRouter, channel: LineChannel,
        recorder: SaleRecorder?, program: UserProgram?, into report: inout WorkerReport,
        histograms: inout SaleHistograms, start: UInt64
    ) {
        let configuration = assignment.configuration
        let layout = configuration.layout
        let keys = SaleKeys(
            layout: layout, cartSize: configuration.cartSize, recordsLedger: configuration.recordsLedger)
        let sale = configuration.strategy.makeSale(
            keys: keys, policy: configuration.retryPolicy, scriptSHA: assignment.scriptSHA,
            quantities: configuration.quantity.range, script: configuration.script, program: program,
            reportsLeft: recorder != nil, watchesAhead: configuration.watchesAheadInEffect)
        var demand = Demand(
            layout: layout, cartSize: configuration.cartSize, skew: configuration.skew,
            sizes: configuration.quantity.range)
        report.unitsBySKU = Array(repeating: 0, count: layout.skus)
        var random = assignment.random
        // An open loop: each order is due on the schedule; one that is late goes at once, never skipped.
        var schedule = configuration.arrival.map {
            ArrivalSchedule(
                $0, worker: assignment.index, of: configuration.workers, seed: configuration.seed, start: start)
        }
        // Its corrected latency runs from each due time, so a late wake-up would be charged to the server: with the
        // kernel's default slack the sleeps ended up to 50 µs late (corrected p50 88 µs against 20 µs from the send).
        if schedule != nil { TimerSlack.wakeOnTime() }
        // Progress is timed on the clock each order's end is read from: one clock read per order, not two.
        let progressEvery = UInt64(assignment.progressInterval / .nanoseconds(1))
        var nextProgress = start
        var sequence = 0
        let orderPrefix = assignment.orderPrefix
        defer { report.quotaReached = assignment.orderQuota.map { sequence >= $0 } ?? false }
        while assignment.orderQuota.map({ sequence < $0 }) ?? true {
            let due = schedule?.next()
            if let due {
                ArrivalSchedule.sleep(until: due) { stopRequested.load(ordering: .relaxed) }
            }
            if stopRequested.load(ordering: .relaxed) {
                report.stopped = true
                return
            }
            guard let group = demand.nextGroup(using: &random) else { return }  // Sold out everywhere.
            sequence += 1
            let skus = demand.skus(in: group, using: &random)
            // Only a ledger needs the order's id; without one, spare the string.
            let order = Order(
                id: configuration.recordsLedger ? orderPrefix + String(sequence) : "",
                units: demand.units(for: skus, using: &random), skus: skus, group: group)
            recorder?.invoke(order, sequence: sequence)
            let sent = monotonicNanoseconds()
            report.sent(behind: due.map { sent - min($0, sent) } ?? 0)
            let outcome: SaleOutcome?
            do {
                outcome = try placeSurvivingFaults(
                    order, sale: sale, keys: keys, configuration: configuration, router: router,
                    report: &report)
            } catch let error as RedisError {
                report.error = error.advised(for: configuration, user: router.user)
                recorder?.complete(order, sequence: sequence, outcome: nil)
                return
            } catch {
                report.error = "\(error)"
                recorder?.complete(order, sequence: sequence, outcome: nil)
                return
            }
            recorder?.complete(order, sequence: sequence, outcome: outcome)
            guard let outcome else { continue }  // Unresolvable: counted in the report, not sold again.
            let timing = OrderTiming(due: due ?? sent, sent: sent, ended: monotonicNanoseconds())
            if let remaining = report.record(outcome, of: order, timing: timing, into: &histograms) {
                // No larger order fits again: sizes are drawn below what was left, and an SKU below the smallest
                // order size is asked for no more.
                demand.refused(order.skus, remaining: remaining)
            }
            if !histograms.intervals.closed.isEmpty {
                send(histograms.intervals.takeClosed(), after: report.progress, on: channel)
            } else if timing.ended >= nextProgress {
                nextProgress = timing.ended + progressEvery
                channel.send(WorkerMessage.progress(report.progress))
            }
        }
    }

    /// Sends closed seconds, after a progress message that counts every order in them: the driver folds each second
    /// as it comes, and a worker that dies after this still has its last progress cover every second it sent.
    private static func send(_ seconds: [WorkerInterval], after progress: WorkerProgress, on channel: LineChannel) {
        guard !seconds.isEmpty else { return }
        channel.send(WorkerMessage.progress(progress))
        for second in seconds { channel.send(WorkerMessage.interval(second)) }
    }

    /// Watches stdin after `go`: `stop` asks for a clean stop; end of file means the driver is gone.
    private static func watchForStop(_ channel: LineChannel) {
        let thread = Thread {
            var channel = channel
            while let message = try? channel.receive(DriverMessage.self) {
                if message == .stop { stopRequested.store(true, ordering: .relaxed) }
            }
            // The driver died or closed our stdin without asking us to stop: leave at once, orphans help nobody.
            if !stopRequested.load(ordering: .relaxed) { _exit(3) }
        }
        thread.start()
    }
}

/// CLOCK_MONOTONIC in nanoseconds: comparable across the driver and its workers.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}
