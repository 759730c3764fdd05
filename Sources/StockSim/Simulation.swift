public import EmbeddedRedis
import Foundation
import Hiredis
import Histogram
public import Logging
import Spawn

/// Where the simulation's Redis is.
public enum RedisTarget: Sendable {
    /// A private `redis-server` that the simulation starts on a free loopback port and stops at the end.
    case embedded(RedisServer.Configuration)
    /// A running server, given by URL. Only the stock key and its `{key}:ledger` and `{key}:run` are touched.
    case url(String)

    public static let embedded = RedisTarget.embedded(RedisServer.Configuration())
}

/// Why a simulation could not run. `code` maps to the command line's exit status.
public struct SimulationError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// The configuration is wrong (a flag's value): exit 64.
        case invalidConfiguration
        /// Redis could not be reached or refused the login: exit 2.
        case redisUnavailable
        /// Redis holds something that makes the run impossible (a missing or mistyped stock key): exit 2.
        case badServerState
        /// The workers could not be started: exit 2.
        case workersFailedToStart
    }

    public var code: Code
    /// One line: what is wrong and what to do.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

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
    public var logger: Logger

    public init(
        configuration: SimulationConfiguration, redis: RedisTarget = .embedded, workerExecutable: String,
        workerArguments: [String] = ["worker"], logger: Logger = Logger(label: "stocksim")
    ) {
        self.configuration = configuration
        self.redis = redis
        self.workerExecutable = workerExecutable
        self.workerArguments = workerArguments
        self.logger = logger
    }

    /// Runs the simulation to the end and audits it.
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
        var server: RedisServer?
        defer { server?.stop() }
        let url: String
        switch redis {
        case .embedded(var serverConfiguration):
            // A restart must not lose the stock: every write is on disk before its reply.
            if configuration.chaos.restartRedis > 0 { serverConfiguration.persistence = .appendOnlyAlways }
            do {
                let started = try RedisServer(serverConfiguration)
                server = started
                url = started.url
                logger.info("started redis-server", metadata: ["address": "\(started.endpoint.addressDescription)"])
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
        case .url(let given):
            if configuration.chaos.restartRedis > 0 {
                throw SimulationError(
                    .invalidConfiguration,
                    "--chaos restart-redis works only on the embedded server, which StockSim owns; drop --redis or the restart-redis item"
                )
            }
            url = given
        }
        let endpoint: RedisEndpoint
        do {
            endpoint = try RedisEndpoint(url: url)
        } catch {
            throw SimulationError(.invalidConfiguration, error.message)
        }
        let connection: RedisConnection
        do {
            connection = try RedisConnection(endpoint: endpoint, options: configuration.connectionOptions)
        } catch {
            throw SimulationError(.redisUnavailable, error.message)
        }

        try DescriptorBudget.check(workers: configuration.workers)
        let keys = StockKeys(stock: configuration.key)
        let ledger = StockLedger(keys: keys)
        let runID = Self.makeRunID()
        let (initialStock, scriptSHA, namedWorkers) =
            configuration.isCatalog
            ? try prepareCatalog(connection: connection, runID: runID)
            : try prepare(connection: connection, keys: keys, ledger: ledger, runID: runID)

        let quota = configuration.orders.map { Self.split($0, over: configuration.workers) }
        let assignments = (0..<configuration.workers).map { index in
            WorkerAssignment(
                index: index, runID: runID, redisURL: url, configuration: configuration,
                orderQuota: quota?[index], scriptSHA: scriptSHA, namedConnection: namedWorkers)
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
        let demand = configuration.orders.map { min(Int(initialStock), $0 * configuration.quantity.range.upperBound) }
        let nemesis =
            configuration.chaos.isEmpty
            ? nil
            : Nemesis(
                plan: configuration.chaos, seed: configuration.seed, demandUnits: demand ?? Int(initialStock),
                endpoint: endpoint, server: server, runID: runID)
        var interrupted = false
        let (outcomes, elapsed) = pool.run(
            progress: progress, tick: { nemesis?.tick($0, liveWorkers: $1) },
            shouldStop: {
                if !interrupted, shouldStop() { interrupted = true }
                return interrupted
            })
        var result = report(
            outcomes: outcomes, elapsed: elapsed, spawnSeconds: spawnSeconds, initialStock: initialStock,
            connection: connection, ledger: ledger, runID: runID, endpoint: endpoint, interrupted: interrupted,
            embedded: server != nil)
        result.faults = nemesis?.injected ?? []
        result.faultsNotInjected = nemesis?.notInjected ?? 0
        return result
    }

    /// Checks the stock key, then sets the stock, resets the ledger and loads the script.
    private func prepare(connection: RedisConnection, keys: StockKeys, ledger: StockLedger, runID: String)
        throws(SimulationError) -> (initialStock: Int64, scriptSHA: String, namedWorkers: Bool)
    {
        let key = keys.stock
        // The command being sent, for a message that names it when Redis refuses.
        var step = "TYPE"
        do {
            let type = try connection.send("TYPE", RedisArgument(key)).string ?? "none"
            var initial: Int64
            if let stock = configuration.initialStock {
                guard type == "none" || type == "string" else {
                    throw SimulationError(
                        .badServerState,
                        "the key '\(key)' holds a \(type), not a stock count; choose another --key or delete it")
                }
                initial = Int64(stock)
            } else {
                guard type != "none" else {
                    throw SimulationError(
                        .badServerState,
                        "--keep-stock: the key '\(key)' does not exist; set it first (SET \(key) 100) or pass --stock N"
                    )
                }
                guard type == "string" else {
                    throw SimulationError(
                        .badServerState,
                        "--keep-stock: the key '\(key)' holds a \(type), not a stock count; choose another --key")
                }
                step = "GET"
                let value = try connection.send("GET", RedisArgument(key))
                guard let stock = value.int, stock >= 0 else {
                    throw SimulationError(
                        .badServerState,
                        "--keep-stock: the key '\(key)' holds \(value), not a whole number of units ≥ 0; SET it to one or pass --stock N"
                    )
                }
                initial = stock
            }
            var sha = ""
            let namedWorkers = try Preflight.check(
                connection, strategy: configuration.strategy, keys: keys, scriptSHA: sha,
                user: connection.endpoint.user,
                logger: logger)
            try LedgerOwnership.check(keys, on: connection)
            step = "SCRIPT LOAD"
            if configuration.strategy == .lua { sha = try LuaSale.load(on: connection) }
            step = "SET"
            if configuration.initialStock != nil {
                try connection.send("SET", RedisArgument(key), RedisArgument(initial))
            }
            step = "HSET"
            try ledger.reset(on: connection, runID: runID, initialStock: Int(initial), configuration: configuration)
            return (initial, sha, namedWorkers)
        } catch let error as SimulationError {
            throw error
        } catch let error as RedisError {
            if let refusal = error.reply {
                throw Preflight.explain(
                    refusal, command: step, strategy: configuration.strategy, keys: keys, user: connection.endpoint.user
                )
            }
            throw SimulationError(error.code == .serverError ? .badServerState : .redisUnavailable, error.message)
        } catch {
            throw SimulationError(.redisUnavailable, "\(error)")
        }
    }

    private func report(
        outcomes: [WorkerOutcome], elapsed: Double, spawnSeconds: Double, initialStock: Int64,
        connection: RedisConnection, ledger: StockLedger, runID: String, endpoint: RedisEndpoint, interrupted: Bool,
        embedded: Bool
    ) -> SimulationReport {
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var retries = Histogram<UInt64>(highestTrackableValue: 1_000_000, numberOfSignificantValueDigits: .two)
        var acknowledged = 0
        var acknowledgedOrders = 0
        var rejected = 0
        var gaveUp = 0
        var attempts = 0
        var conflicts = 0
        var failures: [SimulationReport.WorkerFailure] = []
        var unknown = 0
        var recovered = 0
        var unresolvedOrders = 0
        var unresolvedUnits = 0
        var reconnects = 0
        var acknowledgedBySKU = Array(repeating: 0, count: configuration.skus)
        var perWorker: [Int] = []
        var dead = 0
        for outcome in outcomes {
            guard let report = outcome.report else {
                dead += 1
                // What it acknowledged before it died is what its last progress line said.
                acknowledged += outcome.lastProgress.units
                acknowledgedOrders += outcome.lastProgress.orders
                attempts += outcome.lastProgress.attempts
                conflicts += outcome.lastProgress.conflicts
                perWorker.append(outcome.lastProgress.units)
                failures.append(
                    .init(
                        worker: outcome.index, pid: outcome.pid, termination: outcome.termination.description,
                        error: nil))
                continue
            }
            acknowledged += report.units
            acknowledgedOrders += report.orders
            unknown += report.unknownOutcomes
            recovered += report.recovered
            unresolvedOrders += report.unresolvedOrders
            unresolvedUnits += report.unresolvedUnits
            reconnects += report.reconnects
            for (sku, units) in report.unitsBySKU.enumerated() where sku < acknowledgedBySKU.count {
                acknowledgedBySKU[sku] += units
            }
            rejected += report.rejected
            gaveUp += report.gaveUp
            attempts += report.attempts
            conflicts += report.conflicts
            perWorker.append(report.units)
            for pair in report.latency where pair.count == 2 { latency.record(pair[0], count: pair[1]) }
            for pair in report.retries where pair.count == 2 { retries.record(pair[0], count: pair[1]) }
            if let error = report.error {
                failures.append(
                    .init(
                        worker: outcome.index, pid: outcome.pid, termination: outcome.termination.description,
                        error: error))
            }
        }
        let workerErrors = failures.compactMap(\.error)
        var incompleteReason: String? = workerErrors.first.map { "a worker stopped on an error: \($0)" }

        // The truth, from Redis. Reads are idempotent: after a fault (a restart, a killed connection) connect again
        // and read once more.
        let demandCutShort =
            interrupted || !workerErrors.isEmpty
            || (dead > 0 && (configuration.orders != nil || dead == outcomes.count))
        var finalStock: Int64?
        var sold: Int64 = Int64(acknowledged)
        var orders = acknowledgedOrders
        var skuReports: [SimulationReport.SKU]?
        var audit = AuditResult(
            passed: false, checked: configuration.ledger ? "ledger" : "acknowledged-only", violations: [], notes: [])
        // A paused, restarting or briefly unreachable server is waited for, with backoff, for up to the reconnect
        // timeout, as the workers do.
        let clock = ContinuousClock()
        let readBackDeadline = clock.now + .milliseconds(max(configuration.reconnectTimeoutMilliseconds, 1_000))
        var pause = Duration.milliseconds(20)
        while true {
            do {
                if !connection.isConnected { try connection.reconnect() }
                if configuration.isCatalog {
                    let layout = configuration.layout
                    let perSKU = Int64(configuration.initialStock ?? 0)
                    let finals = try Self.readStocks(layout, on: connection)
                    let contents = configuration.ledger ? try CatalogLedger.read(layout, on: connection) : nil
                    finalStock = finals.contains(where: { $0 == nil }) ? nil : finals.reduce(0) { $0 + ($1 ?? 0) }
                    sold =
                        contents.map { Int64($0.unitsBySKU.reduce(0, +)) } ?? finalStock.map { initialStock - $0 }
                        ?? sold
                    orders = contents?.orders ?? orders
                    skuReports = (0..<layout.skus).map { sku in
                        SimulationReport.SKU(
                            key: layout.stockKey(sku), group: layout.group(of: sku), initial: perSKU,
                            final: finals[sku],
                            sold: contents.map { Int64($0.unitsBySKU[sku]) } ?? finals[sku].map { perSKU - $0 } ?? 0,
                            acknowledged: acknowledgedBySKU[sku])
                    }
                    audit = Audit.check(
                        Audit.CatalogEvidence(
                            layout: layout, initialStock: perSKU, finalStock: finals, ledger: contents,
                            acknowledgedBySKU: acknowledgedBySKU, acknowledgedOrders: acknowledgedOrders,
                            rejectedOrders: rejected, deadWorkers: dead, unresolvedOrders: unresolvedOrders,
                            unresolvedUnits: unresolvedUnits, quantity: configuration.quantity,
                            cartSize: configuration.cartSize, ordersLimit: configuration.orders,
                            demandCutShort: demandCutShort))
                } else {
                    finalStock = try connection.send("GET", RedisArgument(ledger.keys.stock)).int
                    let contents = configuration.ledger ? try ledger.read(on: connection) : nil
                    sold = contents.map { Int64($0.units) } ?? finalStock.map { initialStock - $0 } ?? sold
                    orders = contents?.orders ?? orders
                    var evidence = Audit.Evidence(
                        initialStock: initialStock, finalStock: finalStock, ledger: contents,
                        acknowledgedUnits: acknowledged, acknowledgedOrders: acknowledgedOrders,
                        rejectedOrders: rejected,
                        deadWorkers: dead, quantity: configuration.quantity, ordersLimit: configuration.orders,
                        demandCutShort: demandCutShort)
                    evidence.unresolvedOrders = unresolvedOrders
                    evidence.unresolvedUnits = unresolvedUnits
                    audit = Audit.check(evidence)
                }
                break
            } catch
                where clock.now + pause < readBackDeadline
                && (error.closesConnection || error.code == .cannotConnect || error.code == .misuse
                    || error.reply?.code == "LOADING")
            {
                connection.close()
                Thread.sleep(forTimeInterval: pause / .seconds(1))
                pause = min(pause * 2, .milliseconds(500))
                continue
            } catch {
                incompleteReason =
                    incompleteReason ?? "could not read the final state back from Redis: \(error.message)"
                audit.notes.append("Redis could not be read back, so nothing was audited: \(error.message)")
                break
            }
        }
        let sortedPerWorker = perWorker.sorted()
        func percentiles(_ histogram: Histogram<UInt64>) -> SimulationReport.Percentiles {
            guard histogram.totalCount > 0 else { return .init(p50: 0, p90: 0, p99: 0, p999: 0, max: 0) }
            return .init(
                p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
                p99: histogram.valueAtPercentile(99), p999: histogram.valueAtPercentile(99.9), max: histogram.max)
        }
        var result = SimulationReport(
            runId: runID, redis: endpoint.description, embedded: embedded, key: ledger.keys.stock,
            ledgerKey: ledger.keys.ledger, workers: configuration.workers, strategy: configuration.strategy,
            ledger: configuration.ledger, quantity: configuration.quantity.description,
            ordersLimit: configuration.orders, backoff: configuration.backoff.description,
            maxAttempts: configuration.maxAttempts, seed: configuration.seed,
            stock: .init(initial: initialStock, final: finalStock), sold: sold,
            orders: orders, acknowledged: acknowledged,
            acknowledgedOrders: acknowledgedOrders, rejectedOrders: rejected, gaveUpOrders: gaveUp, attempts: attempts,
            conflicts: conflicts, unknownOutcomes: unknown, recoveredOutcomes: recovered,
            unresolvedOrders: unresolvedOrders, unresolvedUnits: unresolvedUnits, reconnects: reconnects,
            conflictRate: attempts == 0 ? 0 : Double(conflicts) / Double(attempts),
            elapsedSeconds: elapsed, salesPerSecond: elapsed > 0 ? Double(sold) / elapsed : 0,
            retriesPerSale: percentiles(retries), latencyUs: percentiles(latency),
            perWorkerSold: .init(
                min: sortedPerWorker.first ?? 0,
                median: sortedPerWorker.isEmpty ? 0 : sortedPerWorker[sortedPerWorker.count / 2],
                max: sortedPerWorker.last ?? 0),
            spawnSeconds: spawnSeconds, workerPeakRssBytes: outcomes.map(\.peakRSSBytes).max() ?? 0,
            workerFailures: failures, completed: incompleteReason == nil, incompleteReason: incompleteReason,
            interrupted: interrupted, audit: audit)
        result.skuCount = configuration.skus
        result.groups = configuration.groups
        result.skew = configuration.skew.description
        result.cartSize = configuration.cartSize
        result.skus = skuReports
        if configuration.isCatalog {
            let layout = configuration.layout
            result.ledgerKey =
                layout.groups == 1
                ? layout.ledgerKey(group: 0) : "{\(configuration.key):g0…g\(layout.groups - 1)}:ledger"
        }
        return result
    }

    /// Checks every SKU key, sets the stock of each, resets each group's ledger and loads the cart script.
    private func prepareCatalog(connection: RedisConnection, runID: String)
        throws(SimulationError) -> (initialStock: Int64, scriptSHA: String, namedWorkers: Bool)
    {
        let layout = configuration.layout
        let perSKU = Int64(configuration.initialStock ?? 0)
        var step = "TYPE"
        do {
            let types = try connection.pipeline(
                (0..<layout.skus).map { RedisCommand("TYPE", RedisArgument(layout.stockKey($0))) })
            for (sku, type) in types.enumerated() {
                if let refusal = type.errorReply { throw RedisError.server(refusal, command: "TYPE") }
                guard let name = type.string, name == "none" || name == "string" else {
                    throw SimulationError(
                        .badServerState,
                        "the key '\(layout.stockKey(sku))' holds a \(type.string ?? "\(type)"), not a stock count; choose another --key or delete it"
                    )
                }
            }
            step = "SCRIPT LOAD"
            let sha = configuration.strategy == .lua ? try CartSale.load(on: connection) : ""
            let probe = StockKeys(
                stock: layout.stockKey(0), ledger: layout.ledgerKey(group: 0), run: layout.runKey(group: 0))
            let named = try Preflight.check(
                connection, strategy: configuration.strategy, keys: probe, scriptSHA: "",
                user: connection.endpoint.user,
                skipScript: true, logger: logger)
            for group in 0..<layout.groups {
                try LedgerOwnership.check(
                    StockKeys(
                        stock: layout.stockKey(0), ledger: layout.ledgerKey(group: group),
                        run: layout.runKey(group: group)),
                    on: connection)
            }
            step = "SET"
            var commands = (0..<layout.skus).map {
                RedisCommand("SET", RedisArgument(layout.stockKey($0)), RedisArgument(perSKU))
            }
            for group in 0..<layout.groups {
                commands.append(
                    RedisCommand(
                        "DEL", RedisArgument(layout.ledgerKey(group: group)), RedisArgument(layout.runKey(group: group))
                    ))
                commands.append(
                    RedisCommand(
                        "HSET", RedisArgument(layout.runKey(group: group)), "run_id", RedisArgument(runID),
                        "ledger_writes", 0,
                        "strategy", RedisArgument(configuration.strategy.rawValue)))
            }
            if let refusal = try connection.pipeline(commands).lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "SET")
            }
            return (perSKU * Int64(layout.skus), sha, named)
        } catch let error as SimulationError {
            throw error
        } catch let error as RedisError {
            if let refusal = error.reply {
                throw Preflight.explain(
                    refusal, command: step, strategy: configuration.strategy,
                    keys: StockKeys(stock: layout.stockKey(0)), user: connection.endpoint.user)
            }
            throw SimulationError(.redisUnavailable, error.message)
        } catch {
            throw SimulationError(.redisUnavailable, "\(error)")
        }
    }

    /// Every SKU's stock, `nil` for a key that is gone or not an integer.
    static func readStocks(_ layout: CatalogLayout, on connection: RedisConnection) throws(RedisError) -> [Int64?] {
        var values: [Int64?] = []
        for start in stride(from: 0, to: layout.skus, by: 1000) {
            let keys = (start..<min(start + 1000, layout.skus)).map { RedisArgument(layout.stockKey($0)) }
            let reply = try connection.send(RedisCommand([RedisArgument("MGET")] + keys))
            values += (reply.array ?? []).map(\.int)
        }
        return values
    }

    /// Splits `total` orders over `parts` workers as evenly as possible.
    static func split(_ total: Int, over parts: Int) -> [Int] {
        (0..<parts).map { total / parts + ($0 < total % parts ? 1 : 0) }
    }

    static func makeRunID() -> String {
        String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }
}
