import ArgumentParser
import Foundation
import Logging
import StockSim
import Synchronization

extension Stocksim {
    /// `stocksim join`: one more host of a run that `stocksim run --hosts N` coordinates.
    struct Join: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Join a run of several hosts: its workers sell from the shared start instant, its report goes to the coordinator.",
            discussion: """
                The run's configuration (stock key, strategy, quantities…) comes from Redis, from the run the \
                coordinator opened (stocksim run --hosts N); credentials never do: this host reaches Redis by its own \
                --redis URL. The coordinator prints the merged report and audits; this host prints its own row. \
                Exit status: 0 the report was handed over; 2 no run to join, a refused host, another control schema \
                or workers that could not start; 64 a bad flag.
                """)

        @Option(
            name: .long,
            help:
                "Redis URL (redis://[[user]:password@]host[:port][/db]) of the run's server, as this host reaches it. Default: $STOCKSIM_REDIS_URL."
        )
        var redis: String?

        @Option(name: .customLong("run"), help: "The run to join (its id); default: the run that is open for hosts.")
        var runID: String?

        @Option(name: .long, help: "This host's name (default: the machine's host name).")
        var hostName: String?

        @Option(name: .long, parsing: .unconditional, help: "Worker processes on this host (default: its CPU cores).")
        var workers: Int?

        @Option(name: .long, help: "Time allowed for the run to open and start, as 30s or 1500ms (default: 30s).")
        var joinTimeout: String?

        @Flag(name: .long, help: "Print this host's row as one JSON document instead of a line.")
        var json = false

        @Flag(name: .long, help: "Print no progress.")
        var quiet = false

        @Flag(name: .long, help: "Log what the driver does, on stderr.")
        var verbose = false

        func validate() throws {
            guard url != nil else {
                throw ValidationError("stocksim join needs the run's Redis: --redis URL (or STOCKSIM_REDIS_URL)")
            }
            do {
                if let hostName { try HostPlan.validate(name: hostName) }
                if let joinTimeout { _ = try DurationText.milliseconds(parsing: joinTimeout) }
            } catch {
                throw ValidationError(error.message)
            }
            if let workers, !(1...1024).contains(workers) {
                throw ValidationError("--workers must be from 1 to 1024, not \(workers)")
            }
        }

        private var url: String? { redis ?? ProcessInfo.processInfo.environment["STOCKSIM_REDIS_URL"] }

        func run() throws {
            let verbose = verbose
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = verbose ? .info : .warning
                return handler
            }
            let logger = Logger(label: "stocksim")
            var simulation = Simulation(
                configuration: SimulationConfiguration(workers: workers ?? SimulationConfiguration.defaultWorkers),
                redis: .url(url ?? ""), workerExecutable: Run.executablePath(), logger: logger)
            simulation.hosts = HostPlan(
                role: .joiner(run: runID), name: hostName ?? HostOptions.defaultName(),
                joinTimeoutMilliseconds: try joinTimeout.map { try DurationText.milliseconds(parsing: $0) }
                    ?? HostPlan.defaultJoinTimeoutMilliseconds)
            Run.installSignalHandlers()
            let display = ProgressDisplay(enabled: !quiet, total: nil)
            let row = try Stocksim.showingProgress(finish: display.finish) {
                try simulation.join(progress: display.update, shouldStop: Stocksim.stopRequested)
            }
            if json {
                try StandardOutput.write(try HostRowDocument(row).json() + Data("\n".utf8), what: "the host's row")
            } else {
                try StandardOutput.writeLine(
                    "host \(row.name): \(NumberText.count(row.workers, "worker")) acknowledged \(NumberText.count(row.acknowledged, "unit")) in \(NumberText.count(row.acknowledgedOrders, "order")) over \(String(format: "%.2f", row.elapsedSeconds)) s; the report went to the coordinator",
                    what: "the host's row")
            }
        }
    }
}

/// A host's row as `join --json` prints it.
struct HostRowDocument: JSONDocument {
    var host: SimulationReport.HostRow
    init(_ host: SimulationReport.HostRow) { self.host = host }
}
