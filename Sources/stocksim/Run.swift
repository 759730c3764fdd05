public import ArgumentParser
import Foundation
import StockSim
import StockSimRendering
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension Strategy: ExpressibleByArgument {}

/// The signal that asked the run to stop (SIGINT or SIGTERM), or 0. Set from the signal handler: an atomic store is
/// async-signal-safe.
let stopSignal = Atomic<Int32>(0)

extension Stocksim {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a flash sale: worker processes race for the stock, then the audit reads Redis back.",
            discussion: """
                With no --redis, a private redis-server is started on a free loopback port and stopped at the end. \
                With --redis URL (or STOCKSIM_REDIS_URL) only the stock key and its {KEY}:ledger and {KEY}:run \
                keys are touched.
                """)

        @OptionGroup
        var options: SaleCommandOptions

        @OptionGroup(title: "Hosts")
        var hostOptions: HostOptions

        @Option(name: .long, parsing: .unconditional, help: "Initial stock, SET on the key before the run.")
        var stock = 10_000

        @Flag(name: .long, help: "Take the key's current value as the initial stock instead of setting it.")
        var keepStock = false

        @Option(name: .long, parsing: .unconditional, help: "Orders in total; default: buy until the stock runs out.")
        var orders: Int?

        @Option(
            name: .long, help: "How workers take stock: \(Strategy.allCases.map(\.rawValue).joined(separator: ", ")).",
            transform: { text in
                // One line naming every strategy: the parser would list six values one per line.
                guard let strategy = Strategy(rawValue: text) else {
                    throw ValidationError(
                        "unknown strategy; use \(Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return strategy
            })
        var strategy: Strategy = .watch

        // Optional, so that the help shows one default (the text's), not also ArgumentParser's "(default: 2)".
        @Option(name: .long, parsing: .unconditional, help: "Worker processes (default: the number of CPU cores).")
        var workers: Int?

        @Option(
            name: .long,
            help:
                "Inject faults: kill-worker:N,client-kill:N,restart-redis:N,pause-redis:MS (restart-redis: embedded server only; with --hosts also kill-host:N)."
        )
        var chaos: String?

        @Flag(name: .long, help: "Print one JSON document on stdout instead of the summary.")
        var json = false

        @Option(
            name: .long, help: "Write every order event as one JSON line to this file (see `stocksim check`).",
            completion: .file())
        var history: String?

        @Flag(
            name: .long,
            help:
                "Skip the per-sale witness (its records and its chain check), to measure what it costs; --history records anyway."
        )
        var noWitness = false

        @Option(
            name: .long, help: "Your own Lua sale script for --strategy script (contract v1: README).",
            completion: .file(extensions: ["lua"]))
        var script: String?

        @Option(
            name: .long,
            help:
                "Your own client program for --strategy command, run by /bin/sh -c once per worker (protocol v1: README)."
        )
        var workerCommand: String?

        @Option(
            name: .long,
            help:
                "An open loop: R orders per second over the whole run, split across the workers; needs --duration or --orders."
        )
        var rate: String?

        @OptionGroup
        var arrival: ArrivalOptions

        /// The open loop `--rate` and `--arrival` describe, or `nil` for the closed loop.
        ///
        /// - Throws: `ConfigurationError` for a rate or arrival that does not parse, or `--arrival` without a rate.
        func openLoop() throws(ConfigurationError) -> Arrival? {
            let rate = try rate.map { text throws(ConfigurationError) in try Arrival.rate(parsing: text) }
            let process = try arrival.process(hasRate: rate != nil, rateValue: "R")
            guard let rate else { return nil }
            return Arrival(rate: rate, process: process ?? .constant)
        }

        @Option(
            name: .long,
            help:
                "Write the latency histograms as PREFIX.hgrm (and PREFIX.corrected.hgrm with --rate), HdrHistogram's text format.",
            completion: .file())
        var hdrOut: String?

        /// The configuration these flags describe.
        func simulationConfiguration() throws -> SimulationConfiguration {
            var configuration = try options.sale.configuration(
                initialStock: keepStock ? nil : stock, orders: orders, strategy: strategy,
                workers: workers ?? SimulationConfiguration.defaultWorkers,
                chaos: try chaos.map { try ChaosPlan(parsing: $0) } ?? ChaosPlan())
            configuration.script = try script.map { try UserScript(path: $0) }
            configuration.workerCommand = workerCommand
            configuration.checksWitness = !noWitness
            configuration.arrival = try openLoop()
            try configuration.validate()
            return configuration
        }

        func validate() throws {
            if options.driver.clusterMasterCounts.count > 1 {
                throw ValidationError(
                    "run takes one --cluster-masters count; compare several with stocksim sweep --cluster-masters 1,2,3"
                )
            }
            if history != nil, hostOptions.hosts != nil { throw ValidationError(Simulation.severalHostsNoHistory) }
            if let hdrOut, hdrOut.isEmpty {
                throw ValidationError("--hdr-out needs a path prefix, such as --hdr-out run1")
            }
            do {
                _ = try simulationConfiguration()
            } catch let error as ConfigurationError {
                throw ValidationError(error.message)
            }
        }

        func run() throws {
            let logger = options.driver.startLogging()
            let configuration = try simulationConfiguration()
            var simulation = Simulation(
                configuration: configuration, redis: options.driver.target, workerExecutable: Self.executablePath(),
                logger: logger)
            simulation.historyPath = history
            simulation.hdrOutPrefix = hdrOut
            simulation.hosts = try hostOptions.plan(announce: Self.announcer(quiet: options.driver.quiet))
            Self.installSignalHandlers()
            let display = ProgressDisplay(enabled: !options.driver.quiet, total: configuration.totalStock)
            let report = try Stocksim.showingProgress(finish: display.finish) {
                try simulation.run(progress: display.update, shouldStop: Stocksim.stopRequested)
            }
            // A report that could not be written is status 74, unless the run has a status of its own to report.
            var lostReport: ExitCode?
            do {
                if json {
                    try StandardOutput.write(try report.json() + Data("\n".utf8), what: "the report")
                } else {
                    try StandardOutput.writeLine(RunSummary.text(report), what: "the report")
                }
            } catch let status as ExitCode {
                lostReport = status
            }
            for error in [report.historyError, report.hdrError].compactMap({ $0 }) {
                StandardError.write(Data("stocksim: \(error)\n".utf8))
                lostReport = lostReport ?? ExitCode(74)
            }
            let signal = stopSignal.load(ordering: .relaxed)
            if report.interrupted, signal != 0 {
                StandardError.write(
                    Data(
                        "stocksim: stopped by \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); the report above covers the partial run\n"
                            .utf8))
                throw ExitCode(128 + signal)
            }
            if !report.completed {
                StandardError.write(
                    Data(
                        "stocksim: the run did not complete: \(report.incompleteReason ?? "unknown reason"); the report above audits what Redis holds\n"
                            .utf8))
                throw ExitCode(2)
            }
            if !report.audit.passed {
                let kinds = Set(report.audit.violations.map(\.kind.rawValue)).sorted().joined(separator: ", ")
                // Only changes from outside the run: the audit cannot vouch for the data, but the run broke nothing.
                if report.audit.violations.allSatisfy(\.kind.isOutsideChange) {
                    StandardError.write(
                        Data(
                            "stocksim: the data was changed from outside the run (\(kinds)), so the audit cannot vouch for it; keep other clients off the run's keys and run again\n"
                                .utf8))
                    throw ExitCode(3)
                }
                StandardError.write(
                    Data("stocksim: the audit found violations (\(kinds)); see the report\n".utf8))
                throw ExitCode(1)
            }
            if let lostReport { throw lostReport }
        }

        /// Tells the other hosts' operators how to join the run that opened (stderr; stdout is the report's).
        static func announcer(quiet: Bool) -> @Sendable (String) -> Void {
            { run in
                guard !quiet else { return }
                StandardError.write(
                    Data(
                        "stocksim: run \(run) is open; on each other host: stocksim join --redis URL --run \(run) --host-name NAME\n"
                            .utf8))
            }
        }

        /// This binary's own path, for re-executing it as a worker.
        static func executablePath() -> String {
            var buffer = [CChar](repeating: 0, count: 4096)
            let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
            if count > 0 { return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            return CommandLine.arguments[0]
        }

        static func installSignalHandlers() {
            for signal in [SIGINT, SIGTERM] {
                var action = sigaction()
                action.__sigaction_handler.sa_handler = { received in stopSignal.store(received, ordering: .relaxed) }
                sigemptyset(&action.sa_mask)
                action.sa_flags = SA_RESTART
                sigaction(signal, &action, nil)
            }
        }
    }
}
