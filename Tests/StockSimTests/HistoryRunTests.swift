import Foundation
import StockSim
import Testing

/// `stocksim run --history FILE` end to end: a real run's history, checked by `stocksim check`.
@Suite("run --history")
struct HistoryRunTests {
    /// Every line of the file, decoded.
    static func lines(_ path: String) throws -> [HistoryLine] {
        let reader = try HistoryReader(path: path)
        var lines: [HistoryLine] = []
        while let next = try reader.next() { lines.append(next.line) }
        return lines
    }

    @Test(arguments: [
        (Strategy.watch, "--quantity=1-3", "none"), (.lua, "--quantity=1", "kill-worker:1,client-kill:3"),
    ])
    func aCorrectStrategysHistoryPassesTheCheck(strategy: Strategy, quantity: String, chaos: String) throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/run.jsonl"
        let result = try StocksimCLI.run(
            [
                "run", "--stock", "3000", "--workers", "3", "--strategy", strategy.rawValue, quantity, "--json",
                "--quiet", "--history", file, "--seed", "3",
            ] + (chaos == "none" ? [] : ["--chaos", chaos]))
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        let lines = try Self.lines(file)
        guard case .header(let header)? = lines.first, case .end(let final)? = lines.last else {
            Issue.record("the history has no header or no end line")
            return
        }
        #expect(header.initial == ["stock:count": 3000])
        #expect(final == ["stock:count": 0])
        let events = lines.compactMap { line -> HistoryEvent? in
            if case .event(let event) = line { event } else { nil }
        }
        let ok = events.filter { $0.type == .ok }
        #expect(ok.reduce(0) { $0 + ($1.units?.first?.units ?? 0) } <= 3000)
        #expect(ok.allSatisfy { $0.stockLeft?.first??.signum() ?? -1 >= 0 })
        if chaos == "none" {
            #expect(events.count(where: { $0.type == .invoke }) == events.count / 2)
            #expect(ok.count == report.acknowledgedOrders)
        }
        // Times never go backwards: the driver merged the workers' events in time order.
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.timeNanoseconds <= $1.timeNanoseconds })
        let check = try StocksimCLI.run(["check", file])
        #expect(check.exitCode == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("chain checked from 3000 to 0"), "\(check.stdout)")
    }

    @Test func unsafesHistoryIsCaughtByTheCheck() throws {
        let directory = try TemporaryDirectory()
        let file = directory.path + "/unsafe.jsonl"
        let result = try StocksimCLI.run([
            "run", "--stock", "2000", "--workers", "4", "--strategy", "unsafe", "--quiet", "--history", file,
        ])
        #expect(result.exitCode == 1, "\(result.stderr)")
        let check = try StocksimCLI.run(["check", file])
        #expect(check.exitCode == 1, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("stale-read on stock:count"), "\(check.stdout)")
    }

    @Test func aHistoryThatCannotBeCreatedStopsTheRunBeforeItStarts() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "100", "--workers", "2", "--quiet", "--history", "/nonexistent-dir/run.jsonl",
        ])
        #expect(result.exitCode == 64, "\(result.stderr)")
        #expect(result.stderr.contains("cannot open the history file /nonexistent-dir/run.jsonl"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    /// Each host's workers would record on that host: a history of a run of several hosts is refused before it starts,
    /// in the library as on the command line.
    @Test func aHistoryOfSeveralHostsIsRefused() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hosts-\(getpid()).jsonl").path
        let result = try StocksimCLI.run([
            "run", "--stock", "100", "--workers", "2", "--quiet", "--hosts", "2", "--history", file,
        ])
        #expect(result.exitCode == 64, "\(result.stderr)")
        #expect(result.stderr.contains("a run of several hosts cannot write one"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: file))
        var simulation = Simulation(
            configuration: SimulationConfiguration(initialStock: 100, workers: 2),
            workerExecutable: StocksimCLI.executable)
        simulation.historyPath = file
        simulation.hosts = HostPlan(role: .coordinator(HostRoster(count: 2)), name: "solo")
        #expect(throws: SimulationError.self) { try simulation.run() }
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    /// /dev/full opens but refuses every write: the run reports, then exits 74 with one line that says why.
    @Test func aFailedHistoryWriteIsAnErrorNotSilence() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "500", "--workers", "2", "--quiet", "--json", "--history", "/dev/full",
        ])
        #expect(result.exitCode == 74, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("writing the history file /dev/full failed"), "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed)
        #expect(report.historyError?.contains("/dev/full") == true)
    }
}
