import Foundation
import Hiredis
import Histogram
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the driver tells one worker, as the first line on its stdin (JSON).
struct WorkerAssignment: Codable, Sendable {
    var index: Int
    var runID: String
    /// The server's URL (with credentials: it travels on a pipe, never on a command line).
    var redisURL: String
    var configuration: SimulationConfiguration
    /// Orders this worker places, or `nil` to buy until the stock runs out.
    var orderQuota: Int?
    /// The stock script's SHA1 for `lua`, as the driver's SCRIPT LOAD returned it.
    var scriptSHA: String
    /// Name the connection with CLIENT SETNAME (false when the ACL user may not).
    var namedConnection: Bool

    /// The generator of this worker's order sizes and picks: reproducible from the run's seed, different per worker.
    var random: WorkerRandom {
        WorkerRandom(seed: configuration.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The start of this worker's order ids, `RUN:WORKER:`; the sequence number follows.
    var orderPrefix: String { "\(runID):\(index):" }
}

/// What a worker reports at the end, after `done ` on its stdout (JSON).
struct WorkerReport: Codable, Sendable {
    var index: Int
    /// Units the worker was told it sold: acknowledged sales.
    var units: Int = 0
    var orders: Int = 0
    /// Orders refused as out of stock.
    var rejected: Int = 0
    /// Orders given up after the retry policy's last attempt.
    var gaveUp: Int = 0
    var attempts: Int = 0
    var conflicts: Int = 0
    /// Per sale, first attempt to commit, in microseconds: (value, count) pairs of an HDR histogram.
    var latency: [[UInt64]] = []
    /// Per sale, attempts − 1: (value, count) pairs.
    var retries: [[UInt64]] = []
    /// Replies lost after a write was sent (EXEC, EVALSHA, DECRBY): outcomes that had to be found out.
    var unknownOutcomes: Int = 0
    /// Unknown outcomes the ledger showed to be commits (counted in `units`).
    var recovered: Int = 0
    /// Unknown outcomes no one can resolve (`decr`, or no ledger): orders and units that may or may not be sold.
    var unresolvedOrders: Int = 0
    var unresolvedUnits: Int = 0
    /// Times the worker connected again after its connection failed.
    var reconnects: Int = 0
    /// Catalog runs: units acknowledged per SKU.
    var unitsBySKU: [Int] = []
    /// Why the worker stopped before its demand was met, if it did.
    var error: String?
    /// True when the worker stopped because the driver asked it to.
    var stopped = false
    /// When its sales loop ended, in CLOCK_MONOTONIC nanoseconds (one clock for every process on the machine), so
    /// the driver can time the sale itself, without the reports and exits that follow it.
    var finishedNanoseconds: UInt64 = 0
}

/// CLOCK_MONOTONIC in nanoseconds: comparable across the driver and its workers.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

extension WorkerReport {
    mutating func recordSale(units: Int, attempts: Int, conflicts: Int) {
        self.units += units
        orders += 1
        self.attempts += attempts
        self.conflicts += conflicts
    }

    mutating func recordRefusal(attempts: Int, conflicts: Int) {
        rejected += 1
        self.attempts += attempts
        self.conflicts += conflicts
    }

    mutating func recordGiveUp(attempts: Int, conflicts: Int) {
        gaveUp += 1
        self.attempts += attempts
        self.conflicts += conflicts
    }

    /// Counts one order's outcome, and for a sale its latency (first attempt to commit) and retries.
    ///
    /// - Returns: what the stock had left when the order was refused as out of stock; otherwise `nil`.
    mutating func record<Remaining>(
        _ outcome: SaleOutcome<Remaining>, units: Int, took elapsed: Duration, latency: inout Histogram<UInt64>,
        retries: inout Histogram<UInt64>
    ) -> Remaining? {
        switch outcome {
        case .sold(let attempts, let conflicts), .alreadyRecorded(let attempts, let conflicts):
            if case .alreadyRecorded = outcome { recovered += 1 }
            recordSale(units: units, attempts: attempts, conflicts: conflicts)
            latency.record(UInt64(elapsed / .microseconds(1)))
            retries.record(UInt64(attempts - 1))
            return nil
        case .outOfStock(let remaining, let attempts, let conflicts):
            recordRefusal(attempts: attempts, conflicts: conflicts)
            return remaining
        case .gaveUp(let attempts, let conflicts):
            recordGiveUp(attempts: attempts, conflicts: conflicts)
            return nil
        }
    }

    /// Sends a `progress` line when the next one is due (about ten a second).
    func emitProgress(at now: ContinuousClock.Instant, next: inout ContinuousClock.Instant) {
        guard now >= next else { return }
        next = now + .milliseconds(100)
        WorkerProcess.emit("\(WorkerLine.progress) \(units) \(orders) \(attempts) \(conflicts)")
    }
}

/// The driver ↔ worker protocol: lines on the worker's stdin and stdout.
enum WorkerLine {
    static let ready = "ready"
    static let go = "go"
    static let stop = "stop"
    static let progress = "progress"
    static let done = "done"
    static let failed = "error"
}

/// Set by the stdin watcher when the driver asks the worker to stop.
private let stopRequested = Atomic<Bool>(false)

/// The worker process: `stocksim worker` (hidden) runs this. It reads its assignment on stdin, connects, says
/// `ready`, waits for `go`, sells, streams `progress` lines about ten times a second and ends with `done` and its
/// report. When its stdin closes (the driver died) it exits at once.
public enum WorkerProcess {
    /// Runs the worker protocol on stdin and stdout; returns the process exit status.
    public static func main() -> Int32 {
        guard let line = readLine(),
            let assignment = try? JSONDecoder().decode(WorkerAssignment.self, from: Data(line.utf8))
        else {
            emit("\(WorkerLine.failed) no assignment on stdin: this mode is for stocksim's driver, not for people")
            return 2
        }
        let connection: RedisConnection
        do {
            var options = assignment.configuration.connectionOptions
            if assignment.namedConnection { options.clientName = "stocksim-\(assignment.runID)-w\(assignment.index)" }
            connection = try RedisConnection(endpoint: RedisEndpoint(url: assignment.redisURL), options: options)
        } catch {
            emit("\(WorkerLine.failed) \(error.message)")
            return 2
        }
        emit(WorkerLine.ready)
        guard readLine() == WorkerLine.go else { return 3 }
        watchStdin()
        let report = sell(assignment, on: connection)
        guard let json = try? JSONEncoder().encode(report) else { return 2 }
        emit("\(WorkerLine.done) " + String(decoding: json, as: UTF8.self))
        return 0
    }

    /// The sales loop.
    static func sell(_ assignment: WorkerAssignment, on connection: RedisConnection) -> WorkerReport {
        var report = WorkerReport(index: assignment.index)
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var retries = Histogram<UInt64>(highestTrackableValue: 1_000_000, numberOfSignificantValueDigits: .two)
        sell(assignment, on: connection, into: &report, latency: &latency, retries: &retries)
        report.finishedNanoseconds = monotonicNanoseconds()
        report.latency = latency.recordedValues().map { [$0.value, $0.count] }
        report.retries = retries.recordedValues().map { [$0.value, $0.count] }
        return report
    }

    private static func sell(
        _ assignment: WorkerAssignment, on connection: RedisConnection, into report: inout WorkerReport,
        latency: inout Histogram<UInt64>, retries: inout Histogram<UInt64>
    ) {
        if assignment.configuration.isCatalog {
            return sellCarts(assignment, on: connection, into: &report, latency: &latency, retries: &retries)
        }
        let configuration = assignment.configuration
        let keys = StockKeys(stock: configuration.key)
        let sale = configuration.strategy.makeSale(
            keys: keys, ledger: configuration.ledger, policy: configuration.retryPolicy,
            scriptSHA: assignment.scriptSHA, quantities: configuration.quantity.range)
        let ledger = StockLedger(keys: keys)
        var random = assignment.random
        let minimum = configuration.quantity.range.lowerBound
        let clock = ContinuousClock()
        var nextProgress = clock.now
        var sequence = 0
        let orderPrefix = assignment.orderPrefix
        while assignment.orderQuota.map({ sequence < $0 }) ?? true {
            if stopRequested.load(ordering: .relaxed) {
                report.stopped = true
                return
            }
            sequence += 1
            let units = Int.random(in: configuration.quantity.range, using: &random)
            let started = clock.now
            let outcome: OrderOutcome?
            do {
                // Only a ledger needs the order's id; without one, spare the string.
                outcome = try placeSurvivingFaults(
                    orderID: configuration.ledger ? orderPrefix + String(sequence) : "", units: units, sale: sale,
                    ledger: ledger, configuration: configuration, connection: connection, report: &report)
            } catch let error as RedisError {
                report.error = error.advised(for: configuration, user: connection.endpoint.user)
                return
            } catch {
                report.error = "\(error)"
                return
            }
            guard let outcome else { continue }  // Unresolvable: counted in the report, not sold again.
            let now = clock.now
            let refused = report.record(
                outcome, units: units, took: now - started, latency: &latency, retries: &retries)
            // Sold out for every order size: with unbounded demand, this worker's work is done.
            if let refused, refused < minimum { return }
            report.emitProgress(at: now, next: &nextProgress)
        }
    }

    /// The sales loop of a catalog run: each order takes its quantity of `cartSize` distinct in-stock SKUs of one
    /// group, drawn by the skew; the worker stops when no group has that many SKUs left.
    private static func sellCarts(
        _ assignment: WorkerAssignment, on connection: RedisConnection, into report: inout WorkerReport,
        latency: inout Histogram<UInt64>, retries: inout Histogram<UInt64>
    ) {
        let configuration = assignment.configuration
        let layout = configuration.layout
        let sale = CartSale(
            strategy: configuration.strategy, layout: layout, ledger: configuration.ledger,
            policy: configuration.retryPolicy, scriptSHA: assignment.scriptSHA)
        report.unitsBySKU = Array(repeating: 0, count: layout.skus)
        var random = assignment.random
        var inStock = Set(0..<layout.skus)
        let minimum = configuration.quantity.range.lowerBound
        let clock = ContinuousClock()
        var nextProgress = clock.now
        var sequence = 0
        let orderPrefix = assignment.orderPrefix
        while assignment.orderQuota.map({ sequence < $0 }) ?? true {
            if stopRequested.load(ordering: .relaxed) {
                report.stopped = true
                return
            }
            let open = (0..<layout.groups).filter { group in
                layout.skus(in: group).count(where: inStock.contains) >= configuration.cartSize
            }
            guard let group = open.randomElement(using: &random) else { return }  // Sold out everywhere.
            let candidates = layout.skus(in: group).filter(inStock.contains)
            sequence += 1
            let order = CartOrder(
                id: orderPrefix + String(sequence), units: Int.random(in: configuration.quantity.range, using: &random),
                skus: configuration.skew.draw(configuration.cartSize, from: candidates, using: &random), group: group)
            let started = clock.now
            let outcome: CartOutcome?
            do {
                outcome = try surviving(
                    units: order.units * order.skus.count, canVerify: sale.canVerify, configuration: configuration,
                    connection: connection, report: &report, repairedSale: .sold(attempts: 1, conflicts: 0),
                    ledger: StockLedger(keys: StockKeys(stock: layout.stockKey(order.skus[0])))
                ) { verify in try sale.place(order, verify: verify, on: connection) }
            } catch let error as RedisError {
                report.error = error.advised(for: configuration, user: connection.endpoint.user)
                return
            } catch {
                report.error = "\(error)"
                return
            }
            guard let outcome else { continue }
            let now = clock.now
            if let remaining = report.record(
                outcome, units: order.units * order.skus.count, took: now - started, latency: &latency,
                retries: &retries)
            {
                for (sku, left) in zip(order.skus, remaining) where left < minimum { inStock.remove(sku) }
            } else if outcome.tookStock {
                for sku in order.skus { report.unitsBySKU[sku] += order.units }
            }
            report.emitProgress(at: now, next: &nextProgress)
        }
    }

    /// Places one order and sees it through connection failures: reconnects with jittered backoff for up to the
    /// reconnect timeout, and after a lost reply retries the same order id only where the ledger makes that safe.
    ///
    /// - Returns: the outcome, or `nil` when the order's fate cannot be known (counted as unresolved).
    /// - Throws: `WorkerStop` when Redis stays unreachable; `RedisError` / `StockKeyError` for failures no retry fixes.
    static func placeSurvivingFaults(
        orderID: String, units: Int, sale: any SaleStrategy, ledger: StockLedger,
        configuration: SimulationConfiguration,
        connection: RedisConnection, report: inout WorkerReport
    ) throws -> OrderOutcome? {
        try surviving(
            units: units, canVerify: sale.canVerify, configuration: configuration, connection: connection,
            report: &report, repairedSale: .sold(attempts: 1, conflicts: 0), ledger: ledger
        ) { verify in
            try sale.place(orderID: orderID, units: units, verify: verify, on: connection)
        }
    }

    /// The recovery loop shared by single-key and cart orders; `place` makes one attempt at the order.
    static func surviving<Outcome>(
        units: Int, canVerify: Bool, configuration: SimulationConfiguration, connection: RedisConnection,
        report: inout WorkerReport, repairedSale: Outcome, ledger: @autoclosure () -> StockLedger,
        place: (_ verify: Bool) throws -> Outcome
    ) throws -> Outcome? {
        let clock = ContinuousClock()
        var verify = false
        var failingSince: ContinuousClock.Instant?
        while true {
            do {
                if !connection.isConnected {
                    try reconnect(
                        connection, since: failingSince ?? clock.now, configuration: configuration, report: &report)
                }
                return try place(verify)
            } catch let lost as DecrLedgerWriteLost {
                // The units are taken; only the ledger entry is in doubt. Write it once, after reconnecting.
                failingSince = failingSince ?? clock.now
                while true {
                    do {
                        try reconnect(
                            connection, since: failingSince ?? clock.now, configuration: configuration, report: &report)
                        _ = try DecrLedgerWriteLost.complete(lost, ledger: ledger(), on: connection)
                        return repairedSale
                    } catch let error as RedisError where error.closesConnection {
                        continue
                    } catch let error as RedisError where error.isTransient {
                        try pauseWhileTransient(error, since: failingSince ?? clock.now, configuration: configuration)
                    } catch let error as RedisError {
                        throw RedisError(
                            error.code,
                            "decr took \(lost.units) units for order \(lost.orderID) but cannot record it in the ledger: \(error.message)",
                            reply: error.reply)
                    }
                }
            } catch let error as RedisError where error.isTransient {
                // A restarted server replaying its append-only file, or a busy script: nothing ran; wait and retry.
                failingSince = failingSince ?? clock.now
                try pauseWhileTransient(error, since: failingSince ?? clock.now, configuration: configuration)
            } catch let error as RedisError where error.closesConnection {
                failingSince = failingSince ?? clock.now
                // A watch transaction knows when EXEC was sent; for one-command strategies any lost reply may be a
                // write that happened.
                let unknown = error.code == .outcomeUnknown || configuration.strategy != .watch
                if unknown {
                    report.unknownOutcomes += 1
                    guard canVerify else {
                        report.unresolvedOrders += 1
                        report.unresolvedUnits += units
                        try reconnect(
                            connection, since: failingSince ?? clock.now, configuration: configuration, report: &report)
                        return nil
                    }
                    verify = true
                }
            }
        }
    }

    /// Waits a little after a transient refusal, within the reconnect timeout measured from `since`.
    static func pauseWhileTransient(
        _ error: RedisError, since: ContinuousClock.Instant, configuration: SimulationConfiguration
    )
        throws(WorkerStop)
    {
        if ContinuousClock().now - since > .milliseconds(configuration.reconnectTimeoutMilliseconds) {
            throw WorkerStop(message: "Redis stayed unavailable past the reconnect timeout: \(error.message)")
        }
        Thread.sleep(forTimeInterval: 0.02)
    }

    /// Connects again, backing off with full jitter (20 ms doubling to 1 s), until the reconnect timeout measured from
    /// `since` runs out.
    static func reconnect(
        _ connection: RedisConnection, since: ContinuousClock.Instant, configuration: SimulationConfiguration,
        report: inout WorkerReport
    ) throws(WorkerStop) {
        let clock = ContinuousClock()
        let budget = Duration.milliseconds(configuration.reconnectTimeoutMilliseconds)
        var ceiling = Duration.milliseconds(20)
        var random = WorkerRandom(
            seed: UInt64(UInt(bitPattern: ObjectIdentifier(connection).hashValue))
                ^ UInt64(UInt(bitPattern: clock.now.hashValue)))
        var lastError = connection.closingError?.message ?? "the connection was closed"
        while true {
            if clock.now - since > budget {
                throw WorkerStop(
                    message: "Redis was unreachable for more than the reconnect timeout (\(budget)): \(lastError)")
            }
            do {
                try connection.reconnect()
                report.reconnects += 1
                return
            } catch {
                lastError = error.message
            }
            let pause = Duration.nanoseconds(Int64.random(in: 0..<Int64(ceiling / .nanoseconds(1)), using: &random))
            Thread.sleep(forTimeInterval: pause / .seconds(1))
            ceiling = min(ceiling * 2, .seconds(1))
        }
    }

    /// Watches stdin after `go`: `stop` asks for a clean stop; end of file means the driver is gone.
    private static func watchStdin() {
        let thread = Thread {
            while let line = readLine() {
                if line == WorkerLine.stop { stopRequested.store(true, ordering: .relaxed) }
            }
            // The driver died or closed our stdin without asking us to stop: leave at once, orphans help nobody.
            if !stopRequested.load(ordering: .relaxed) { _exit(3) }
        }
        thread.start()
    }

    /// Writes one line to stdout with a single write(2): lines under PIPE_BUF never interleave.
    static func emit(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(1, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// A worker gives up: Redis stayed unreachable past the reconnect timeout.
struct WorkerStop: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The workers' generator for order sizes: SplitMix64, reproducible from the run's seed.
struct WorkerRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
