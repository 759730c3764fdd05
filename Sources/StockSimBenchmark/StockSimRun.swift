import Foundation
import Spawn
import StockSim

/// One `stocksim run --json` against the shared server, run as a child so that wait4 gives the usage of its whole
/// tree: the driver and every worker process it reaped.
struct StockSimRun {
    var report: SimulationReport
    /// The driver and its workers.
    var usage: ResourceUsage
    /// From the spawn of `stocksim` to its reaping: start-up, spawning, the sale, the audit, the report and exit.
    var seconds: Double

    /// The `stocksim run` arguments for one run.
    static func arguments(
        url: String, strategy: Strategy, ledger: Bool, watchAhead: Bool = false, stock: Int, workers: Int,
        witness: Bool = true
    ) -> [String] {
        [
            "run", "--redis", url, "--stock", String(stock), "--strategy", strategy.rawValue, "--workers",
            String(workers), "--json", "--quiet",
        ] + (ledger ? [] : ["--no-ledger"]) + (watchAhead ? ["--watch-ahead"] : []) + (witness ? [] : ["--no-witness"])
    }

    /// Runs `stocksim` to its end. A run that did not complete or failed its audit is no figure.
    ///
    /// - Parameter launcher: a program and its arguments that run `stocksim` (valgrind, for the instruction
    ///   counts); empty: `stocksim` itself.
    /// - Throws: `SetupFailure` naming the run and what went wrong.
    init(
        stocksim: String, url: String, strategy: Strategy, ledger: Bool, watchAhead: Bool = false, stock: Int,
        workers: Int, witness: Bool = true, launcher: [String] = [], scratch: String
    ) throws(SetupFailure) {
        let contender = Contender.stocksim(strategy, ledger: ledger, watchAhead: watchAhead)
        let name =
            "StockSim \(contender)\(witness ? "" : " --no-witness") at \(NumberText.count(workers, "worker"))"
        let arguments = Self.arguments(
            url: url, strategy: strategy, ledger: ledger, watchAhead: watchAhead, stock: stock, workers: workers,
            witness: witness)
        let run = try capture(
            launcher.first ?? stocksim, launcher.dropFirst() + (launcher.isEmpty ? [] : [stocksim]) + arguments,
            scratch: scratch)
        let report: SimulationReport
        do {
            report = try SimulationReport.decode(Data(run.stdout.utf8))
        } catch {
            throw SetupFailure("\(name) \(run.termination) without a JSON report: \(run.lastWords)")
        }
        guard report.completed else {
            throw SetupFailure("\(name) did not complete: \(report.incompleteReason ?? "a worker failed")")
        }
        guard report.audit.passed else {
            let violations = report.audit.violations.map(\.description).joined(separator: "; ")
            throw SetupFailure(
                "\(name) failed its audit (\(violations)); a run that fails its audit is no benchmark figure")
        }
        guard run.termination == .exited(0) else {
            throw SetupFailure("\(name) \(run.termination): \(run.lastWords)")
        }
        self.report = report
        usage = run.usage
        seconds = run.seconds
    }
}
