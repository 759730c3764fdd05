import ArgumentParser
import Foundation
import StockSim
import StockSimRendering
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension Stocksim {
    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sweep",
            abstract: "Run every strategy at every worker count, repeated, and recommend a worker count per strategy.",
            discussion: """
                Every run starts on freshly set stock, against one Redis: with no --redis, one private redis-server \
                for the whole sweep. Prints a table of median sales per second (min–max over the repeats), conflict \
                rate, p99 latency, p99 retries per sale and Redis's CPU use per strategy and worker count, then the \
                smallest worker count per strategy whose median is within 5% of the best. With --rate LIST every \
                point is an open loop at each rate (bounded by --duration), and with --p99-target MS the sweep \
                names, per strategy and worker count, the highest rate whose corrected p99 met the target. Exit \
                status (a target no rate met is a finding, not a failure): 0 every \
                audit passed; 1 an audit found a violation; 2 a run could not complete; 64 a bad flag or value \
                (an output path that cannot be written, two outputs that are one file); 74 the table or an output \
                file could not be written; 130 or 143 stopped by SIGINT or SIGTERM (after printing what ran).
                """)

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Worker counts: 8, a list 1,2,4, a range 1-4, or a geometric range 1-64x2 (1, 2, 4, … 64).",
                valueName: "counts"))
        var workers = "1-64x2"

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Strategies, comma-separated: \(Strategy.ownStrategies.map(\.rawValue).joined(separator: ", ")).",
                valueName: "strategies"))
        var strategy = "watch,lua,decr"

        @Option(
            name: .customLong("repeat"), parsing: .unconditional,
            help: ArgumentHelp("Runs per strategy and worker count; the table shows their median.", valueName: "n"))
        var repeats = 3

        @OptionGroup
        var options: SaleCommandOptions

        @Option(name: .long, parsing: .unconditional, help: "Initial stock, SET on the key before every run.")
        var stock = 20_000

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Open-loop rates to compare, orders per second over each run: 500, or a list 500,1000,2000; every strategy and worker count runs at each, bounded by --duration (default: closed loops).",
                valueName: "rates"))
        var rate: String?

        @OptionGroup
        var arrival: ArrivalOptions

        @Option(
            name: .long,
            help: ArgumentHelp(
                "With --rate: a p99 latency in milliseconds (corrected: from when each order was due); the sweep names, per strategy and worker count, the highest rate whose p99 met it.",
                valueName: "ms"))
        var p99Target: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Write a CSV file: a header and one row per strategy and worker count (and rate).", valueName: "file"))
        var csv: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Write a JSON document: the parameters, every run's report, the aggregates and the recommendations.",
                valueName: "file"))
        var json: String?

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Write an SVG chart: sales per second and conflict rate against workers, one line per strategy (with --rate: corrected p99 against rate, and the target).",
                valueName: "file"))
        var svg: String?

        /// The configuration these flags describe.
        func sweepConfiguration() throws -> SweepConfiguration {
            let base = try options.sale.configuration(initialStock: stock)
            try base.validate()
            var configuration = SweepConfiguration(
                workerCounts: try SweepConfiguration.workerCounts(parsing: workers),
                strategies: try SweepConfiguration.strategies(parsing: strategy), repeats: repeats, base: base)
            if case .embeddedCluster = options.driver.target {
                configuration.clusterMasters = options.driver.clusterMasterCounts
            }
            try openLoop(&configuration)
            try configuration.validate()
            return configuration
        }

        /// Sets the rates, their arrival and the p99 target from `--rate`, `--arrival` and `--p99-target`.
        ///
        /// - Throws: `ConfigurationError` naming a value that does not parse, or an option that needs `--rate`.
        private func openLoop(_ configuration: inout SweepConfiguration) throws(ConfigurationError) {
            if let rate { configuration.rates = try SweepConfiguration.rates(parsing: rate) }
            if let process = try arrival.process(hasRate: rate != nil, rateValue: "LIST") {
                configuration.arrival = process
            }
            if let p99Target {
                guard let milliseconds = Double(p99Target.trimmingCharacters(in: .whitespaces)),
                    milliseconds.isFinite, milliseconds > 0
                else {
                    throw ConfigurationError(
                        "--p99-target '\(p99Target)' is not a positive number of milliseconds; write 5 or 0.5")
                }
                configuration.p99TargetMicroseconds = milliseconds * 1_000
            }
        }

        /// The files to write, by flag.
        var outputs: [(flag: String, path: String)] {
            [("--csv", csv), ("--json", json), ("--svg", svg)].compactMap { flag, path in path.map { (flag, $0) } }
        }

        func validate() throws {
            do {
                _ = try sweepConfiguration()
            } catch let error as ConfigurationError {
                throw ValidationError(error.message)
            }
            // Refuse an output path that cannot be written before spending minutes on the sweep.
            try OutputPaths.check(outputs)
        }

        func run() throws {
            let logger = options.driver.startLogging()
            let configuration = try sweepConfiguration()
            let sweep = StockSim.Sweep(
                configuration: configuration, redis: options.driver.target, workerExecutable: Run.executablePath(),
                logger: logger)
            Run.installSignalHandlers()
            let display = SweepProgressDisplay(
                enabled: !options.driver.quiet, stock: configuration.base.totalStock ?? stock)
            let result = try Stocksim.showingProgress(finish: display.finish) {
                try sweep.run(progress: display.update, shouldStop: Stocksim.stopRequested)
            }
            // Output that could not be written is status 74, unless the sweep has a status of its own to report.
            var lostOutput: ExitCode?
            do throws(ExitCode) {
                try StandardOutput.writeLine(SweepTable(result).text(), what: "the table")
            } catch {
                lostOutput = error
            }
            do { try write(result) } catch let status as ExitCode { lostOutput = status }

            let signal = stopSignal.load(ordering: .relaxed)
            if result.interrupted, signal != 0 {
                throw failure(
                    "stopped by \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); the table above covers the runs that ended",
                    status: 128 + signal)
            }
            if let reason = result.incompleteReason {
                throw failure("the sweep stopped: \(reason); the table above covers the runs before it", status: 2)
            }
            if !result.auditsPassed {
                let failed = result.points.filter { !$0.auditsPassed }
                let kinds = Set(failed.flatMap { $0.runs.flatMap { $0.report.audit.violations.map(\.kind.rawValue) } })
                    .sorted().joined(separator: ", ")
                let places = failed.map(\.place).joined(separator: ", ")
                let violations = failed.flatMap { $0.runs.flatMap(\.report.audit.violations) }
                // Only changes from outside the runs: status 3, as for `run`.
                let outside = violations.allSatisfy(\.kind.isOutsideChange)
                throw failure(
                    "the audit found violations (\(kinds)) in \(places); --json FILE has each run's report",
                    status: outside ? 3 : 1)
            }
            if let lostOutput { throw lostOutput }
        }

        /// Writes the files asked for; a partial sweep's files say that it is partial.
        private func write(_ result: SweepResult) throws {
            for (flag, path) in outputs {
                do {
                    let contents: Data
                    switch flag {
                    case "--csv": contents = Data(SweepCSV(result).text().utf8)
                    case "--json": contents = try result.json() + Data("\n".utf8)
                    default: contents = Data(SweepChart(result).svg().utf8)
                    }
                    try contents.write(to: URL(fileURLWithPath: path), options: .atomic)
                } catch {
                    throw failure(
                        "cannot write \(flag) \(path): \(error.localizedDescription); choose another path",
                        status: StandardOutput.writeFailed.rawValue)
                }
            }
        }

        /// Prints one line on stderr and returns the exit status to throw.
        private func failure(_ message: String, status: Int32) -> ExitCode {
            StandardError.write(Data("stocksim: \(message)\n".utf8))
            return ExitCode(status)
        }
    }
}

/// The sweep's progress on stderr: on a terminal one line, redrawn in place, with the run's position in the sweep
/// and its live figures; otherwise a line as each run ends, and a live line every few seconds of a long run.
final class SweepProgressDisplay {
    private let enabled: Bool
    private let stock: Int
    private let terminal: Bool
    private var lastPlainLine = -Double.infinity
    private var drewLine = false

    init(enabled: Bool, stock: Int) {
        self.enabled = enabled
        self.stock = stock
        self.terminal = isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1
    }

    func update(_ progress: SweepProgress) {
        guard enabled else { return }
        let step = progress.step
        let rate = step.rate.map { ", \(SweepRateFinding.rateText($0))/s" } ?? ""
        let prefix =
            "[\(step.index)/\(step.count)] \(step.strategy), \(NumberText.count(step.workers, "worker"))\(rate), repeat \(step.repetition)/\(step.repeats)"
        switch progress.phase {
        case .starting:
            if terminal { draw(prefix + ": starting") }
            lastPlainLine = 0
        case .selling(let pool):
            let line = prefix + ": " + ProgressDisplay.line(pool, total: stock)
            if terminal {
                draw(line)
            } else if pool.elapsed - lastPlainLine >= 3 {
                lastPlainLine = pool.elapsed
                write(line + "\n")
            }
        case .finished(let run):
            let report = run.report
            let cpu = run.redisCpuPercent.map { String(format: "%.0f%%", $0) } ?? "?"
            let line =
                prefix
                + ": \(NumberText.grouped(report.unitsPerSecond)) units/s, conflicts \(NumberText.percent(report.conflictRate, digits: 1)), "
                + (report.openLoop.map {
                    "placed \(NumberText.rate($0.achievedRate))/s, corrected p99 \(NumberText.micros(Double($0.latencyUsCorrected.p99))), "
                } ?? "")
                + "redis cpu \(cpu), audit \(report.audit.passed ? "passed" : "FAILED")"
            if terminal { draw(line) } else { write(line + "\n") }
        }
    }

    func finish() {
        if drewLine {
            write("\n")
            drewLine = false
        }
    }

    private func draw(_ line: String) {
        write("\r\u{1B}[2K" + line)
        drewLine = true
    }

    private func write(_ text: String) {
        StandardError.write(Data(text.utf8))
    }
}
