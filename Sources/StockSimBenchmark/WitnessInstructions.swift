import Foundation
import Spawn
import StockSim

/// `--witness-cost`'s count that load does not move: the witness's cost in instructions, counted by callgrind.
///
/// Callgrind counts only inside the functions that make up a worker's order and its witness record
/// (`WorkerProcess.placeSurvivingFaults`: from building the order's commands to reading their replies;
/// `SaleRecorder.invoke` and `.complete`: the record, and the record file's writes) and in the driver's witness check
/// (`SaleRecords.witness`, which runs after the sale). Not the rest of the sales loop: what it does per second
/// (progress lines, intervals) grows with how long a run lasts under callgrind on a loaded machine, and moved the
/// count of a whole `WorkerProcess.sell` by ±5%, while the order's own count does not move. One worker, so no
/// conflicts; the kernel's share of a sale (its `write` and `read`) is not counted, so the ratio overstates the
/// witness's share of a sale's CPU.
enum WitnessInstructions {
    /// The callgrind patterns of the functions, as Swift mangles them; none calls another of them, as callgrind's
    /// toggles need.
    static let workerSale = [
        "*WorkerProcessO20placeSurvivingFaults*", "*SaleRecorderC6invoke_8sequence*",
        "*SaleRecorderC8complete_8sequence*",
    ]
    static let driverWitness = "*SaleRecordsV7witness8outcomes*"
    /// Units sold per counted run: enough that a worker's start (its connection, the first orders' page faults) is a
    /// small share.
    static let defaultUnits = 3_000

    /// Instructions per unit sold.
    struct Count {
        /// In the workers' order and record functions.
        var worker: Double
        /// In the driver's witness check.
        var driver: Double
    }

    /// Counts `watch` and `lua` with and without the witness; without valgrind, says how to get it and skips.
    ///
    /// - Throws: `SetupFailure` when a run fails or callgrind counted nothing in a worker's sale (the function was
    ///   renamed: update `workerSale`).
    static func measure(stocksim: String, url: String, units: Int, scratch: String) throws(SetupFailure) -> (
        table: String, targets: [Report.Target]
    ) {
        let strategies: [Strategy] = [.watch, .lua]
        guard units > 0 else {
            let line = "instructions not counted (--no-callgrind)"
            return (line + "\n", strategies.map { Report.Target(status: .skip, line: "\($0): \(line)") })
        }
        guard let version = try? capture("valgrind", ["--version"], scratch: scratch),
            version.termination == .exited(0)
        else {
            let line = "valgrind not found: instructions not counted (apt-get install valgrind)"
            return (line + "\n", strategies.map { Report.Target(status: .skip, line: "\($0): \(line)") })
        }
        // Debian 12's valgrind cannot read the DWARF 5 that Swift writes: count a copy without the debug sections
        // (the symbols stay; the workers run the same copy, the driver's own executable).
        let copy = scratch + "/stocksim-callgrind"
        guard let stripped = try? capture("objcopy", ["--strip-debug", stocksim, copy], scratch: scratch),
            stripped.termination == .exited(0)
        else {
            let line = "objcopy (binutils) not found or failed: instructions not counted"
            return (line + "\n", strategies.map { Report.Target(status: .skip, line: "\($0): \(line)") })
        }
        var table = TextTable(headers: [
            "strategy", "order + record instr./sale with witness", "without", "ratio",
            "driver's check instr./sale (after)",
        ])
        var targets: [Report.Target] = []
        for strategy in strategies {
            let with = try count(strategy, witness: true, units: units, stocksim: copy, url: url, scratch: scratch)
            let without = try count(
                strategy, witness: false, units: units, stocksim: copy, url: url, scratch: scratch)
            let ratio = with.worker / without.worker
            table.rows.append([
                "\(strategy)", thousands(with.worker), thousands(without.worker), times(ratio, digits: 3),
                thousands(with.driver),
            ])
            targets.append(
                Report.Target(
                    status: ratio - 1 <= WitnessCost.target ? .pass : .fail,
                    line:
                        "the per-sale witness costs \(strategy) ≤ \(percent(WitnessCost.target)) of the instructions of a worker's order (callgrind, load-independent): \(percent(ratio - 1)) (\(thousands(with.worker)) vs \(thousands(without.worker))); the driver's check after the sale \(thousands(with.driver)) a sale"
                ))
        }
        let text =
            "instructions per unit sold, counted by \(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) --tool=callgrind "
            + "(1 worker, \(grouped(Double(units))) units, with the ledger) inside a worker's order and record "
            + "(WorkerProcess.placeSurvivingFaults, SaleRecorder.invoke/complete) and the driver's witness check "
            + "(SaleRecords.witness); ratio = with ÷ without\n" + table.rendered + "\n"
        return (text, targets)
    }

    /// One run under callgrind: the counts of the workers' and the driver's output files, per unit sold.
    private static func count(
        _ strategy: Strategy, witness: Bool, units: Int, stocksim: String, url: String, scratch: String
    ) throws(SetupFailure) -> Count {
        let directory = scratch + "/callgrind-\(strategy)-\(witness)"
        try? FileManager.default.removeItem(atPath: directory)
        guard (try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)) != nil
        else { throw SetupFailure("cannot create \(directory) for callgrind's output") }
        let run = try StockSimRun(
            stocksim: stocksim, url: url, strategy: strategy, ledger: true, stock: units, workers: 1,
            witness: witness,
            launcher: [
                "valgrind", "--tool=callgrind", "--trace-children=yes", "--toggle-collect=\(driverWitness)",
                "--callgrind-out-file=\(directory)/cg.%p",
            ] + workerSale.map { "--toggle-collect=\($0)" }, scratch: scratch)
        var worker = 0
        var driver = 0
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files {
            let text = TextFile.read(directory + "/" + file)
            let lines = text.split(separator: "\n")
            guard let totals = lines.first(where: { $0.hasPrefix("totals:") || $0.hasPrefix("summary:") }),
                let instructions = totals.split(separator: " ").last.flatMap({ Int($0) })
            else { continue }
            // The driver runs `stocksim run …`; the fork server and the workers it forks, `stocksim worker …`.
            let isWorker = lines.first(where: { $0.hasPrefix("cmd:") })?.contains(" worker") ?? false
            if isWorker { worker += instructions } else { driver += instructions }
        }
        let sold = Double(max(run.report.sold, 1))
        guard worker > 0 else {
            throw SetupFailure(
                "callgrind counted no instructions in \(workerSale[0]) for \(strategy): was placeSurvivingFaults renamed? (\(files.count) output files in \(directory))"
            )
        }
        return Count(worker: Double(worker) / sold, driver: Double(driver) / sold)
    }

    /// 27,351.2 → "27.35k".
    private static func thousands(_ value: Double) -> String { String(format: "%.2fk", value / 1000) }
}
