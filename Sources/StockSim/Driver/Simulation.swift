import Foundation
import Hiredis
public import Logging

/// A flash sale: a pool of worker processes racing for the stock, then an audit of what Redis holds.
///
/// ```swift
/// let simulation = Simulation(configuration: .init(initialStock: 2000, strategy: .watch, workers: 4),
///                             redis: .embedded, workerExecutable: pathToStocksim)
/// let report = try simulation.run()
/// #expect(report.audit.passed)
/// ```
public struct Simulation: Sendable {
    public var configuration: SimulationConfiguration
    public var redis: RedisTarget
    /// The `stocksim` binary, re-executed as `stocksim worker` for every worker process.
    public var workerExecutable: String
    public var workerArguments: [String]
    /// Where the driver logs its steps; nothing is logged unless the caller passes a logger.
    public var logger: Logger
    /// Where to write the run's history (`--history FILE`), or `nil` for none.
    public var historyPath: String?
    /// Tests only: runs after the sale, before Redis is read back (a write the totals cannot see, for instance).
    var afterSale: (@Sendable (RedisConnection) throws -> Void)?

    /// - Parameters:
    ///   - configuration: the run.
    ///   - redis: where Redis is.
    ///   - workerExecutable: the `stocksim` binary, re-executed for every worker.
    ///   - workerArguments: the arguments that put it into worker mode.
    ///   - logger: where the driver logs its steps (by default, nowhere).
    public init(
        configuration: SimulationConfiguration, redis: RedisTarget = .embedded, workerExecutable: String,
        workerArguments: [String] = ["worker"], logger: Logger = .silent
    ) {
        self.configuration = configuration
        self.redis = redis
        self.workerExecutable = workerExecutable
        self.workerArguments = workerArguments
        self.logger = logger
    }

    /// Runs the simulation to the end and audits it: resolve the target → prepare → run the pool → tally the
    /// workers' outcomes → read Redis back → report.
    ///
    /// - Parameters:
    ///   - progress: called about ten times a second while the workers sell.
    ///   - shouldStop: polled as often; when it returns true the workers stop, and the partial run is audited.
    /// - Returns: the report. A run whose workers hit errors still returns one, with `completed == false`.
    /// - Throws: `SimulationError` when the run could not start: bad configuration, Redis unreachable, a bad stock
    ///   key, workers that could not start. Nothing is written to Redis before the checks that can fail this way.
    public func run(
        progress: (PoolProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws(SimulationError) -> SimulationReport {
        do {
            try configuration.validate()
        } catch {
            throw SimulationError(.invalidConfiguration, error.message)
        }
        // Opened first: a history that cannot be written stops the run before anything is written to Redis.
        let history: HistoryWriter?
        do {
            history = try historyPath.map { try HistoryWriter(path: $0) }
        } catch let error as HistoryError {
            throw SimulationError(.invalidConfiguration, error.message)
        } catch {
            throw SimulationError(.invalidConfiguration, "\(error)")
        }
        let target = try ResolvedTarget(redis, restartsServer: configuration.chaos.restartRedis > 0, logger: logger)
        defer { target.stop() }
        let connection = try target.connect(options: configuration.connectionOptions)
        try DescriptorBudget.check(workers: configuration.workers)
        let prepared = try prepare(on: connection)
        let records = try SaleRecords.create(runID: prepared.runID)
        defer { records.remove() }
        let sale = try runPool(
            prepared, records: records, target: target, progress: progress, shouldStop: shouldStop)
        let tally = WorkerTally(sale.outcomes, skus: configuration.skus)
        try? afterSale?(connection)
        let readBack = ReadBack.read(
            configuration.layout, recordsLedger: configuration.recordsLedger, on: connection,
            within: .milliseconds(max(configuration.reconnectTimeoutMilliseconds, 1_000)))
        var report = SimulationReport(
            configuration: configuration, prepared: prepared, sale: sale, tally: tally, readBack: readBack,
            redis: target.endpoint.description, embedded: target.server != nil,
            witness: witness(records, sale: sale, prepared: prepared, readBack: readBack))
        if let history {
            do {
                try records.writeHistory(
                    to: history, workers: configuration.workers, layout: configuration.layout,
                    initial: prepared.stockPerSKU, final: try? readBack.get().finalStock, runID: prepared.runID)
            } catch let error as HistoryError {
                report.historyError = error.message
            } catch {
                report.historyError = "\(error)"
            }
        }
        return report
    }

    /// The per-sale witness over the workers' records, or why it was not checked.
    private func witness(
        _ records: SaleRecords, sale: Sale, prepared: Preparation, readBack: Result<ReadBack, RedisError>
    ) -> Result<WitnessResult, WitnessNotChecked>? {
        if let reason = configuration.strategy.witnessUnchecked { return .failure(WitnessNotChecked(reason: reason)) }
        guard case .success(let state) = readBack else { return nil }
        return records.witness(
            outcomes: sale.outcomes, layout: configuration.layout, initial: prepared.stockPerSKU,
            final: state.finalStock, runID: prepared.runID, everyOrderFlushed: configuration.chaos.killWorker > 0)
    }

    /// What the pool did: its workers' outcomes, how long spawning and selling took, the faults injected.
    struct Sale {
        var outcomes: [WorkerOutcome]
        var spawnSeconds: Double
        var elapsedSeconds: Double
        var interrupted: Bool
        var faults: [InjectedFault]
        var faultsNotInjected: Int
    }

    /// Starts one worker per assignment, releases them together, and lets the nemesis inject its faults.
    private func runPool(
        _ prepared: Preparation, records: SaleRecords, target: ResolvedTarget, progress: (PoolProgress) -> Void,
        shouldStop: () -> Bool
    ) throws(SimulationError) -> Sale {
        let quota = configuration.orders.map { Self.split($0, over: configuration.workers) }
        let assignments = (0..<configuration.workers).map { index in
            WorkerAssignment(
                index: index, runID: prepared.runID, redisURL: target.url, configuration: configuration,
                orderQuota: quota?[index], scriptSHA: prepared.scriptSHA, namedConnection: prepared.namedWorkers,
                recordDirectory: records.directory, flushEachOrder: configuration.chaos.killWorker > 0,
                recordsHistory: historyPath != nil)
        }
        let pool = WorkerPool()
        let clock = ContinuousClock()
        let spawnStart = clock.now
        do {
            try pool.start(
                executable: workerExecutable, arguments: workerArguments, assignments: assignments,
                readyTimeout: .milliseconds(configuration.connectTimeoutMilliseconds) + .seconds(30))
        } catch {
            throw SimulationError(.workersFailedToStart, error.message)
        }
        let spawnSeconds = (clock.now - spawnStart) / .seconds(1)
        logger.info(
            "workers ready", metadata: ["workers": "\(configuration.workers)", "spawn_seconds": "\(spawnSeconds)"])
        let initial = Int(prepared.initialStock)
        let demand = configuration.orders.map { min(initial, $0 * configuration.quantity.range.upperBound) }
        let nemesis =
            configuration.chaos.isEmpty
            ? nil
            : Nemesis(
                plan: configuration.chaos, seed: configuration.seed, demandUnits: demand ?? initial,
                endpoint: target.endpoint, server: target.server, runID: prepared.runID)
        var interrupted = false
        let (outcomes, elapsed) = pool.run(
            progress: progress, tick: { nemesis?.tick($0, liveWorkers: $1) },
            shouldStop: {
                if !interrupted, shouldStop() { interrupted = true }
                return interrupted
            })
        return Sale(
            outcomes: outcomes, spawnSeconds: spawnSeconds, elapsedSeconds: elapsed, interrupted: interrupted,
            faults: nemesis?.injected ?? [], faultsNotInjected: nemesis?.notInjected ?? 0)
    }

    /// Splits `total` orders over `parts` workers as evenly as possible.
    static func split(_ total: Int, over parts: Int) -> [Int] {
        (0..<parts).map { total / parts + ($0 < total % parts ? 1 : 0) }
    }
}

extension Logger {
    /// A logger that logs nothing: the library's default, so that only a caller decides where logs go.
    public static var silent: Logger { Logger(label: "stocksim", factory: { _ in SwiftLogNoOpLogHandler() }) }
}
