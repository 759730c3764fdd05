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
    /// `--hdr-out PREFIX`: where to write the latency histograms (`PREFIX.hgrm`, `PREFIX.corrected.hgrm`), or `nil`.
    public var hdrOutPrefix: String?
    /// Tests only: runs after the sale, before Redis is read back, on group 0's owner (a write the totals cannot
    /// see, for instance).
    var afterSale: (@Sendable (RedisConnection) throws -> Void)?
    /// Tests only: runs on every owner of the run's groups after `prepare`, before the workers start (a SCRIPT FLUSH
    /// that makes every worker's first EVALSHA meet NOSCRIPT, for instance).
    var afterPrepare: (@Sendable (RedisConnection) throws -> Void)?
    /// Tests only: handed the streamed witness's verdict and the in-memory witness's on the same records.
    var witnessBothWays: (@Sendable (_ streamed: WitnessVerdict, _ inMemory: WitnessVerdict) -> Void)?
    /// This host's part in a run of several hosts (see `Hosts/`); `nil` for a run of this host alone.
    public var hosts: HostPlan?

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
            try HostPlan.check(hosts, configuration)
        } catch {
            throw SimulationError(.invalidConfiguration, error.message)
        }
        if historyPath != nil, hosts != nil { throw SimulationError(.invalidConfiguration, Self.severalHostsNoHistory) }
        // Opened first: a history that cannot be written stops the run before anything is written to Redis.
        let history: HistoryWriter?
        do {
            history = try historyPath.map { try HistoryWriter(path: $0) }
        } catch let error as HistoryError {
            throw SimulationError(.invalidConfiguration, error.message)
        } catch {
            throw SimulationError(.invalidConfiguration, "\(error)")
        }
        var target = try ResolvedTarget(redis, restartsServer: configuration.chaos.restartRedis > 0, logger: logger)
        defer { target.stop() }
        try target.check(configuration.chaos)
        let connection = try target.connect(options: configuration.connectionOptions)
        try DescriptorBudget.check(workers: configuration.workers)
        let topology = try ClusterTopology(
            target: target, layout: configuration.layout, connection: connection,
            options: configuration.connectionOptions)
        // On a cluster of several masters the groups' tags carry the salts that spread them; workers get them too.
        var simulation = self
        simulation.configuration.groupSalts = topology.salts
        // The other hosts' workers race this one's: watching ahead alone is for a run of one host. The configuration
        // the other hosts take from this one's session says so too.
        if hosts != nil { simulation.configuration.watchesAheadAlone = false }
        return try simulation.run(
            on: target, topology: topology, history: history, progress: progress, shouldStop: shouldStop)
    }

    /// prepare → run the pool → tally → read back → report, over the groups' owners.
    private func run(
        on target: ResolvedTarget, topology: ClusterTopology, history: HistoryWriter?,
        progress: (PoolProgress) -> Void, shouldStop: () -> Bool
    ) throws(SimulationError) -> SimulationReport {
        let prepareStart = ContinuousClock.now
        let prepared = try prepare(on: topology)
        logger.info("prepared", metadata: ["seconds": "\((ContinuousClock.now - prepareStart) / .seconds(1))"])
        if let afterPrepare {
            for owner in topology.owners { try? afterPrepare(topology.connection(owner)) }
        }
        // Several hosts: the coordinator's session (Hosts/HostSession.swift) gathers the others' workers into the sale.
        let session = try openHostSession(prepared, target: target)
        defer { session?.close() }
        let cpuBefore = topology.cpuSeconds()
        let records = try SaleRecords.create(runID: prepared.runID)
        defer { records.remove() }
        let ownSale = try runPool(
            prepared, records: records, target: target, session: session, progress: progress,
            shouldStop: shouldStop)
        let sale = session?.gather(ownSale) ?? ownSale
        let cpuAfter = topology.cpuSeconds()
        let tally = WorkerTally(sale.outcomes, skus: configuration.skus)
        let intervals = sale.intervals.rows()
        if let afterSale, let connection = try? topology.router.connection(for: 0) { try? afterSale(connection) }
        let clock = ContinuousClock()
        let readStart = clock.now
        let readCPUStart = Self.processCPUSeconds()
        let readBack = ReadBack.read(
            configuration.layout, recordsLedger: configuration.recordsLedger, on: topology.router,
            within: .milliseconds(max(configuration.reconnectTimeoutMilliseconds, 1_000)))
        logger.info(
            "read back",
            metadata: [
                "seconds": "\((clock.now - readStart) / .seconds(1))",
                "driver_cpu_seconds": "\(Self.processCPUSeconds() - readCPUStart)",
            ])
        let witnessStart = clock.now
        let witnessed = witness(records, sale: sale, prepared: prepared, readBack: readBack)
        logger.info("witness checked", metadata: ["seconds": "\((clock.now - witnessStart) / .seconds(1))"])
        var report = SimulationReport(
            configuration: configuration, prepared: prepared, sale: sale, tally: tally, readBack: readBack,
            redis: target.cluster?.description ?? target.endpoint.description,
            embedded: target.server != nil || target.clusterServer != nil, witness: witnessed)
        report.redirects = tally.counts.redirects
        report.intervals = intervals
        session?.annotate(&report, own: ownSale, tally: tally)
        if topology.isCluster {
            report.clusterNote = target.note
            // A cluster's transactions never send a WATCH ahead (``TransactionPlacement/watchesAhead``).
            report.watchAhead = false
            if case .success(let state) = readBack, !state.unreachableGroups.isEmpty {
                report.unreachableGroups = state.unreachableGroups
                let named = state.unreachableGroups.map(String.init).joined(separator: ", ")
                report.completed = false
                report.incompleteReason =
                    "groups \(named) are unreachable (their master is down without a replica to take over); every other group was audited"
            }
            report.masters = SimulationReport.Master.figures(
                topology, layout: configuration.layout, readBack: readBack, tally: tally, cpuBefore: cpuBefore,
                cpuAfter: cpuAfter)
        }
        if let hdrOutPrefix {
            do {
                report.hdrFiles = try HdrOutput.write(
                    prefix: hdrOutPrefix, tally: tally, openLoop: configuration.arrival != nil)
            } catch {
                report.hdrError = error.message
            }
        }
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
        if hosts != nil { return .failure(WitnessNotChecked(reason: Self.severalHostsUnwitnessed)) }
        guard recordsSales else {
            return .failure(WitnessNotChecked(reason: "--no-witness: the workers recorded no sales"))
        }
        guard case .success(let state) = readBack else { return nil }
        let streamed = records.witness(
            outcomes: sale.outcomes, layout: configuration.layout, initial: prepared.stockPerSKU,
            final: state.finalStock, runID: prepared.runID, everyOrderFlushed: configuration.chaos.killWorker > 0)
        if let witnessBothWays {
            witnessBothWays(
                streamed,
                records.witness(
                    outcomes: sale.outcomes, layout: configuration.layout, initial: prepared.stockPerSKU,
                    final: state.finalStock, runID: prepared.runID,
                    everyOrderFlushed: configuration.chaos.killWorker > 0, inMemory: true))
        }
        return streamed
    }

    /// The driver's CPU time so far (user and system): what a step cost the driver, whatever else the machine runs.
    private static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Whether the workers record their sales: for the witness, or for the history; never in a run of several hosts,
    /// whose records would stay on each host.
    var recordsSales: Bool { hosts == nil && (configuration.checksWitness || historyPath != nil) }

    /// Why a run of several hosts writes no history.
    public static let severalHostsNoHistory =
        "--history records the sales of this host's workers only, so a run of several hosts cannot write one: drop --history or --hosts"

    /// Why a run of several hosts has no per-sale witness.
    static let severalHostsUnwitnessed =
        "a run of several hosts: each host's workers would record their sales on that host, and the chains of a key need every host's sales"

    /// What the pool did: its workers' outcomes, the seconds they sent (and on a coordinator the other hosts'), how
    /// long spawning and selling took, the faults injected.
    struct Sale {
        var outcomes: [WorkerOutcome]
        let intervals: IntervalTally
        var spawnSeconds: Double
        var elapsedSeconds: Double
        var interrupted: Bool
        /// True when `--duration` ran out and the driver stopped the workers.
        var timeLimitReached = false
        var faults: [InjectedFault]
        var faultsNotInjected: Int
    }

    /// Starts one worker per assignment, releases them together, and lets the nemesis inject its faults. With a host
    /// session the release waits for the run's start instant, and progress, heartbeat and stop go through it.
    func runPool(
        _ prepared: Preparation, records: SaleRecords, target: ResolvedTarget, session: HostSession? = nil,
        progress: (PoolProgress) -> Void, shouldStop: () -> Bool
    ) throws(SimulationError) -> Sale {
        let quota = configuration.orders.map { Self.split($0, over: configuration.workers) }
        // An open loop over several hosts: each of the roster's hosts takes an equal share of the rate, which its own
        // workers split.
        var workerConfiguration = configuration
        if let hosts = session?.control.roster.count, hosts > 1 {
            workerConfiguration.arrival?.rate /= Double(hosts)
        }
        let assignments = (0..<configuration.workers).map { index in
            WorkerAssignment(
                index: index, runID: prepared.runID, redisURL: target.url, configuration: workerConfiguration,
                orderQuota: quota?[index], scriptSHA: prepared.scriptSHA, namedConnection: prepared.namedWorkers,
                host: session?.name, recordDirectory: records.directory, recordsSales: recordsSales,
                flushEachOrder: configuration.chaos.killWorker > 0, recordsHistory: historyPath != nil)
        }
        let pool = WorkerPool()
        // A joiner forwards its complete seconds to the coordinator, which takes every host's percentiles.
        let intervals = IntervalTally(forwards: session.map { !$0.isCoordinator } ?? false)
        session?.follow(intervals)
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
        do throws(SimulationError) {
            try session?.awaitStart(workers: configuration.workers)
        } catch {
            pool.abort()
            throw error
        }
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
        if let nemesis, let server = target.chaosCluster {
            let layout = configuration.layout
            nemesis.cluster = (server, (0..<layout.groups).map { HashSlot(key: layout.ledgerKey(group: $0)) })
        }
        var interrupted = false
        var timeLimit = TimeLimit(milliseconds: configuration.durationMilliseconds)
        let (outcomes, elapsed) = pool.run(
            intervals: intervals,
            progress: { progress(session?.merged($0) ?? $0) },
            tick: {
                nemesis?.tick($0, liveWorkers: $1)
                session?.tick($0, liveWorkers: $1)
            },
            shouldStop: {
                if !interrupted, !timeLimit.reached, shouldStop() { interrupted = true }
                let stop = interrupted || timeLimit.check()
                return session?.shouldStop(localStop: stop) ?? stop
            })
        return Sale(
            outcomes: outcomes, intervals: intervals, spawnSeconds: spawnSeconds, elapsedSeconds: elapsed,
            interrupted: interrupted,
            timeLimitReached: timeLimit.reached && !interrupted, faults: nemesis?.injected ?? [],
            faultsNotInjected: nemesis?.notInjected ?? 0)
    }

    /// A run id: always 8 hex digits, zero-padded, so that ids of every run have one width.
    static func runID(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
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
