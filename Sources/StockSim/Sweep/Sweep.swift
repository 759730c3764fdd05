import Foundation
import Hiredis
public import Logging

/// A sweep: a simulation for every strategy at every worker count (and, with `rates`, at every open-loop rate),
/// repeated, against one Redis, to find how throughput and conflicts grow with the number of workers, which worker
/// count is worth running, and (with a p99 target) the highest rate whose corrected p99 meets it.
///
/// ```swift
/// let sweep = Sweep(
///     configuration: SweepConfiguration(workerCounts: [1, 2, 4, 8], strategies: [.watch, .lua], repeats: 3),
///     redis: .embedded, workerExecutable: pathToStocksim)
/// let result = try sweep.run()
/// for recommendation in result.recommendations { print(recommendation) }
/// ```
public struct Sweep: Sendable {
    public var configuration: SweepConfiguration
    /// How every run is driven: its Redis (with `.embedded`, one `redis-server` for the whole sweep, stopped at the
    /// end), its worker binary and its logger. Each run takes its configuration from `configuration`.
    public var driver: Simulation

    /// - Parameters:
    ///   - configuration: the points and repeats.
    ///   - redis: where Redis is.
    ///   - workerExecutable: the `stocksim` binary, re-executed for every worker.
    ///   - workerArguments: the arguments that put it into worker mode.
    ///   - logger: where the sweep logs its steps (by default, nowhere).
    public init(
        configuration: SweepConfiguration, redis: RedisTarget = .embedded, workerExecutable: String,
        workerArguments: [String] = ["worker"], logger: Logger = .silent
    ) {
        self.configuration = configuration
        driver = Simulation(
            configuration: configuration.base, redis: redis, workerExecutable: workerExecutable,
            workerArguments: workerArguments, logger: logger)
    }

    /// The runs in the order they happen. Repeats are rounds over every point, not runs back to back, so that a
    /// passing slowdown of a shared machine spoils one repeat of several points, which the medians absorb, rather
    /// than every repeat of one point. When master counts are compared, each count's runs come together, on its
    /// cluster.
    public var steps: [SweepStep] {
        let counts = configuration.workerCounts
        let strategies = configuration.strategies
        let masterCounts: [Int?] = configuration.clusterMasters.isEmpty ? [nil] : configuration.clusterMasters
        let rates: [Double?] = configuration.rates.isEmpty ? [nil] : configuration.rates
        let total = configuration.repeats * strategies.count * counts.count * masterCounts.count * rates.count
        var steps: [SweepStep] = []
        guard configuration.repeats >= 1 else { return [] }
        for masters in masterCounts {
            for repetition in 1...configuration.repeats {
                for strategy in strategies {
                    for workers in counts {
                        for rate in rates {
                            steps.append(
                                SweepStep(
                                    index: steps.count + 1, count: total, strategy: strategy, workers: workers,
                                    repetition: repetition, repeats: configuration.repeats, masters: masters,
                                    rate: rate))
                        }
                    }
                }
            }
        }
        return steps
    }

    /// The target of each master count's runs: the driver's, or for a comparison of master counts an embedded
    /// cluster of that many masters (with the driver's other cluster settings).
    private func target(masters: Int?) throws(SimulationError) -> RedisTarget {
        guard let masters else { return driver.redis }
        guard let target = driver.redis.embeddedCluster(masters: masters) else {
            throw SimulationError(
                .invalidConfiguration,
                "comparing master counts (--cluster-masters 1,2,3) starts an embedded cluster per count; drop --redis")
        }
        return target
    }

    /// Runs every step, each on freshly set stock, and aggregates the results.
    ///
    /// The sweep stops early, returning what it has, when a run could not complete (`completed == false`) or was
    /// stopped (`interrupted == true`); runs that completed keep their figures.
    ///
    /// - Parameters:
    ///   - progress: called as each run starts, about ten times a second while it sells, and when it ends.
    ///   - shouldStop: polled as often; when it returns true the current run stops, is audited, and the sweep ends.
    /// - Returns: every run's report, the aggregates per point and a recommended worker count per strategy.
    /// - Throws: `SimulationError` when the sweep could not start: a bad configuration, Redis unreachable, or a first
    ///   run that could not start (a bad stock key, workers that could not start).
    public func run(
        progress: (SweepProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws(SimulationError) -> SweepResult {
        do {
            try configuration.validate()
        } catch {
            throw SimulationError(.invalidConfiguration, error.message)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let layout = configuration.base.layout
        var runs: [SweepStep: SweepRun] = [:]
        var incompleteReason: String?
        var interrupted = false
        var redis = ""
        var embedded = false
        var steps = self.steps[...]
        // One target per master count (one for the whole sweep without a comparison): an embedded server or cluster
        // is started before its runs and stopped after them.
        targets: while let first = steps.first, incompleteReason == nil, !interrupted {
            let targetSteps = steps.prefix { $0.masters == first.masters }
            steps = steps.dropFirst(targetSteps.count)
            let target: ResolvedTarget
            do {
                target = try ResolvedTarget(self.target(masters: first.masters), logger: driver.logger)
            } catch {
                if runs.isEmpty { throw error }
                incompleteReason =
                    "the cluster for run \(first.index) (\(Self.describe(first))) could not start: \(error.message)"
                break
            }
            defer { target.stop() }
            if redis.isEmpty {
                redis = target.cluster?.description ?? target.endpoint.description
                embedded = target.server != nil || target.clusterServer != nil
            }
            // The sweep's own connection reads INFO around every run; it reconnects by itself after a failure.
            let monitor: RedisConnection
            do {
                monitor = try RedisConnection(
                    endpoint: target.endpoint,
                    options: .init(
                        connectTimeout: .milliseconds(configuration.base.connectTimeoutMilliseconds),
                        commandTimeout: .milliseconds(configuration.base.commandTimeoutMilliseconds),
                        reconnect: .onNextCommand, clientName: "stocksim-sweep"))
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
            for step in targetSteps {
                if shouldStop() {
                    interrupted = true
                    break targets
                }
                progress(SweepProgress(step: step, phase: .starting))
                if step.index > 1 {
                    // Deleting the previous run's ledger here, outside the measured window, keeps its cost out of
                    // the next run's Redis CPU (the run would delete it itself after the first INFO).
                    for group in 0..<layout.groups {
                        _ = try? monitor.send("DEL", RedisArgument(layout.ledgerKey(group: group)))
                    }
                }
                var simulation = driver
                simulation.configuration = configuration.configuration(
                    strategy: step.strategy, workers: step.workers, rate: step.rate)
                simulation.redis = .url(target.url)
                let cpuBefore = Self.redisCPUSeconds(monitor)
                var report: SimulationReport
                do {
                    report = try simulation.run(
                        progress: { progress(SweepProgress(step: step, phase: .selling($0))) }, shouldStop: shouldStop)
                } catch {
                    if runs.isEmpty { throw error }
                    incompleteReason = "run \(step.index) (\(Self.describe(step))) could not start: \(error.message)"
                    break
                }
                let cpuAfter = Self.redisCPUSeconds(monitor)
                report.embedded = target.server != nil || target.clusterServer != nil
                // On a cluster, the busiest master's share of a core: the one that would be the bottleneck.
                let busiest = report.masters?.compactMap(\.redisCpuSeconds).max()
                let run = SweepRun(
                    repetition: step.repetition,
                    redisCpuPercent: busiest.map { report.elapsedSeconds > 0 ? 100 * $0 / report.elapsedSeconds : 0 }
                        ?? Self.cpuPercent(before: cpuBefore, after: cpuAfter, elapsed: report.elapsedSeconds),
                    report: report)
                runs[step] = run
                driver.logger.info(
                    "run ended",
                    metadata: [
                        "run": "\(step.index)/\(step.count)", "strategy": "\(step.strategy)",
                        "workers": "\(step.workers)", "rate": "\(step.rate.map { "\($0)" } ?? "closed loop")",
                        "sales_per_second": "\(Int(report.salesPerSecond))",
                        "redis_cpu_percent": "\(run.redisCpuPercent.map { "\(Int($0))" } ?? "unknown")",
                    ])
                progress(SweepProgress(step: step, phase: .finished(run)))
                if report.interrupted {
                    interrupted = true
                    break
                }
                if !report.completed {
                    incompleteReason =
                        "run \(step.index) (\(Self.describe(step))) did not complete: \(report.incompleteReason ?? "unknown reason")"
                    break
                }
            }
        }

        var points: [SweepPoint] = []
        for masters in configuration.clusterMasters.isEmpty ? [nil] : configuration.clusterMasters.map(Optional.some) {
            for strategy in configuration.strategies {
                for workers in configuration.workerCounts {
                    for rate in configuration.rates.isEmpty ? [nil] : configuration.rates.map(Optional.some) {
                        let pointRuns = runs.filter {
                            $0.key.strategy == strategy && $0.key.workers == workers && $0.key.masters == masters
                                && $0.key.rate == rate
                        }
                        .sorted { $0.key.index < $1.key.index }.map(\.value)
                        if !pointRuns.isEmpty {
                            points.append(
                                SweepPoint(
                                    strategy: strategy, workers: workers, masters: masters, rate: rate,
                                    runs: pointRuns))
                        }
                    }
                }
            }
        }
        return SweepResult(
            parameters: SweepParameters(configuration), redis: redis, embedded: embedded,
            points: points, completed: incompleteReason == nil && !interrupted, incompleteReason: incompleteReason,
            interrupted: interrupted, elapsedSeconds: (clock.now - start) / .seconds(1))
    }

    static func describe(_ step: SweepStep) -> String {
        "\(step.strategy), \(NumberText.count(step.workers, "worker"))"
            + (step.masters.map { " on \(NumberText.count($0, "master"))" } ?? "")
            + (step.rate.map { " at \(SweepRateFinding.rateText($0))/s" } ?? "")
            + ", repeat \(step.repetition) of \(step.repeats)"
    }

    /// The server's CPU time so far, user plus system, or `nil` when INFO could not be read.
    static func redisCPUSeconds(_ connection: RedisConnection) -> Double? {
        guard let info = try? connection.send("INFO", "cpu").string else { return nil }
        return redisCPUSeconds(info: info)
    }

    /// `used_cpu_sys` + `used_cpu_user` from the text of `INFO cpu`.
    static func redisCPUSeconds(info: String) -> Double? {
        var fields: [Substring: Double] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespaces)) else { continue }
            fields[parts[0]] = value
        }
        guard let system = fields["used_cpu_sys"], let user = fields["used_cpu_user"] else { return nil }
        return system + user
    }

    /// CPU seconds over elapsed seconds, as a percentage of one core.
    static func cpuPercent(before: Double?, after: Double?, elapsed: Double) -> Double? {
        guard let before, let after, after >= before, elapsed > 0 else { return nil }
        return 100 * (after - before) / elapsed
    }
}
