import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import StockSim
import Testing

/// Every run ends by itself and says why (issue 10, class 3): demand that can no longer be met is exhausted in
/// bounded time, `--duration` bounds any run, and `end_reason` names the end.
@Suite("run ends", .serialized)
struct RunEndTests {
    /// Runs `stocksim run ARGUMENTS --json --quiet`, allowing `seconds` before it is interrupted.
    func run(_ arguments: [String], seconds: Int = 60) throws -> StocksimCLI.Result {
        try StocksimCLI.start(["run"] + arguments + ["--json", "--quiet"]).finish(timeout: .seconds(seconds))
    }

    @Test func ordersLargerThanWhatIsLeftEndTheRunSoldOut() throws {
        // Almost every order is larger than the 5 units: before, workers refused such orders forever.
        let result = try run(["--stock", "5", "--quantity", "1-1000000", "--workers", "2", "--seed", "7"], seconds: 30)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.endReason == .soldOut)
        #expect(report.completed)
        #expect(report.stock.final == 0)
        #expect(report.audit.passed, "\(report.audit.violations)")
    }

    @Test func cartsOfRandomSizesOverACatalogEnd() throws {
        let result = try run(
            [
                "--stock", "5", "--skus", "4", "--groups", "2", "--cart-size", "2", "--quantity", "1-1000000",
                "--workers", "2", "--seed", "11",
            ], seconds: 30)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect([.soldOut, .demandUnmet].contains(report.endReason))
        #expect(report.audit.passed, "\(report.audit.violations)")
    }

    @Test func stockNoOrderFitsIsDemandUnmet() throws {
        let result = try run(["--stock", "10", "--quantity", "3", "--workers", "2"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.endReason == .demandUnmet)
        #expect(report.stock.final == 1)
        #expect(report.audit.passed, "\(report.audit.violations)")
    }

    @Test func ordersLimitIsOrderLimit() throws {
        let report = try run(["--stock", "100", "--orders", "10", "--workers", "2"]).report()
        #expect(report.endReason == .orderLimit)
        #expect(report.stock.final == 90)
    }

    @Test func durationStopsARunThatWouldOutlastIt() throws {
        let result = try run(["--stock", "100000000", "--duration", "1500ms", "--workers", "2"], seconds: 60)
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.seconds < 20)
        let report = try result.report()
        #expect(report.endReason == .timeLimit)
        #expect(report.completed)
        #expect(!report.interrupted)
        #expect(report.elapsedSeconds >= 1.4 && report.elapsedSeconds < 10)
        #expect(report.sold > 0 && report.stock.final == report.stock.initial - report.sold)
        #expect(report.audit.passed, "\(report.audit.violations)")
    }

    @Test func durationIsParsedWithItsUnit() throws {
        #expect(try DurationText.milliseconds(parsing: "30s") == 30_000)
        #expect(try DurationText.milliseconds(parsing: "1500ms") == 1_500)
        #expect(try DurationText.milliseconds(parsing: "2m") == 120_000)
        #expect(try DurationText.milliseconds(parsing: "5") == 5_000)
        #expect(throws: ConfigurationError.self) { try DurationText.milliseconds(parsing: "0s") }
        #expect(throws: ConfigurationError.self) { try DurationText.milliseconds(parsing: "soon") }
        let bad = try StocksimCLI.run(["run", "--duration", "1x"])
        #expect(bad.exitCode == 64, "\(bad.stderr)")
    }

    @Test func aStoppedRunIsNeverCompleted() throws {
        let run = try StocksimCLI.start(["run", "--stock", "10000000", "--workers", "2", "--json", "--quiet"])
        #expect(StocksimCLI.waitUntil { StocksimCLI.leftovers(tmpdir: run.tmpdir).count >= 4 })
        Thread.sleep(forTimeInterval: 0.5)
        run.child.signal(SIGINT)
        let result = run.finish()
        #expect(result.exitCode == 130)
        let report = try result.report()
        #expect(report.interrupted)
        #expect(!report.completed)
        #expect(report.endReason == .stopped)
    }

    @Test func killingEveryWorkerFailsTheRunAndNeverSignalsADeadOne() throws {
        let result = try run(["--stock", "200000", "--workers", "2", "--chaos", "kill-worker:10", "--seed", "3"])
        #expect(result.exitCode == 2, "\(result.stderr)")
        let report = try result.report()
        #expect(!report.completed)
        #expect(report.endReason == .failed)
        let kills = report.faults.filter { $0.kind == "kill-worker" }
        #expect(kills.count == 2)
        #expect(Set(kills.map(\.detail)).count == kills.count, "\(kills)")
        #expect(report.faultsNotInjected == 8)
        #expect(report.audit.passed, "\(report.audit.violations)")
    }
}
