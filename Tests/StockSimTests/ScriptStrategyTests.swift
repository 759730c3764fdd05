import Foundation
import Hiredis
import Synchronization
import Testing

@testable import StockSim

/// `stocksim run --strategy script --script FILE.lua`: the user's own Lua script under contract v1, end to end.
@Suite("run --strategy script")
struct ScriptStrategyTests {
    static var example: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/sale.lua").path
    }

    /// A correct script that ignores the ledger and run keys it is given.
    static let noLedger = """
        #!lua
        local n = #ARGV - 1
        local left = {}
        for i = 1, n do
          local c = tonumber(redis.call('GET', KEYS[i]))
          if c < tonumber(ARGV[i]) then
            for j = 1, n do left[j] = tonumber(redis.call('GET', KEYS[j])) end
            return {'refused', unpack(left)}
          end
        end
        for i = 1, n do left[i] = redis.call('DECRBY', KEYS[i], ARGV[i]) end
        return {'sold', unpack(left)}
        """

    /// Checks `stock > 0` where it should check `stock >= units`: an order for more than is left oversells.
    static let broken = """
        #!lua
        local c = tonumber(redis.call('GET', KEYS[1]))
        if c > 0 then return {'sold', redis.call('DECRBY', KEYS[1], ARGV[1])} end
        return {'refused', c}
        """

    /// A hang guard of 300 s, not the default 120: a run here takes about 1.6 s alone under AddressSanitizer, but
    /// 40–50 s inside the whole parallel suite on two cores (each sale's round trips wait behind every other test's
    /// processes), and one such run passed 120 s.
    func run(_ script: String, _ extra: [String] = []) throws -> StocksimCLI.Result {
        try StocksimCLI.start(
            [
                "run", "--stock", "2000", "--workers", "3", "--strategy", "script", "--script", script, "--json",
                "--quiet",
            ]
                + extra
        ).finish(timeout: .seconds(300))
    }

    @Test(arguments: [[], ["--quantity", "1-3"], ["--skus", "6", "--cart-size", "2"]])
    func theExampleScriptWritesTheLedgerAndGetsTheFullAudit(extra: [String]) throws {
        let result = try run(Self.example, extra)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.audit.checked == "ledger")
        #expect(report.acknowledged == Int(report.sold))
        #expect(report.audit.notes.contains { $0.contains("sales on") && $0.contains("checked as one chain") })
    }

    @Test func aScriptThatIgnoresTheLedgerIsCheckedAgainstTheStockAndSaysSo() throws {
        let directory = try TemporaryDirectory()
        let result = try run(try directory.write("plain.lua", Self.noLedger), ["--quantity", "1-3"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.audit.checked == "acknowledged-only")
        #expect(report.audit.notes.first?.hasPrefix("the script wrote no ledger entries") == true, "\(report.audit)")
        #expect(report.acknowledged == 2000)
    }

    @Test func aScriptThatChecksStockAboveZeroInsteadOfTheUnitsIsCaught() throws {
        let directory = try TemporaryDirectory()
        // 2001 units in orders of 2: the last order finds 1 unit, "more than 0", and takes 2.
        let result = try StocksimCLI.run([
            "run", "--stock", "2001", "--quantity", "2", "--workers", "3", "--strategy", "script", "--script",
            try directory.write("broken.lua", Self.broken), "--json", "--quiet",
        ])
        #expect(result.exitCode == 1, "\(result.stderr)")
        let report = try result.report()
        let kinds = Set(report.audit.violations.map(\.kind))
        #expect(kinds.contains(.oversell) && kinds.contains(.negativeStock), "\(report.audit)")
        #expect((report.stock.final ?? 0) < 0)
    }

    @Test(arguments: [
        ("return 1", "is outside contract v1: the script replied (integer) 1; the contract expects {\"sold\", left…}"),
        ("return {'sold'}", "is outside contract v1: the script replied [\"sold\"]; the contract expects"),
        (
            "return redis.error_reply('BOOM the shop is closed')",
            "failed at run time: BOOM the shop is closed; the contract expects {\"sold\", left…}"
        ),
        ("this is not lua (", "could not be loaded: ERR"),
    ])
    func aScriptOutsideTheContractStopsTheRunWithOneLine(source: String, message: String) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("bad.lua", "#!lua\n" + source + "\n")
        let result = try run(path)
        #expect(result.exitCode == 2, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("stocksim:") }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains("the script \(path)") == true, "\(result.stderr)")
        #expect(lines.first?.contains(message) == true, "\(result.stderr)")
    }

    /// A SCRIPT FLUSH between the driver's SCRIPT LOAD and the sale: every worker's first EVALSHA meets NOSCRIPT,
    /// loads the script again and sends the order once more; without that the run would stop on NOSCRIPT.
    @Test func aFlushedScriptIsLoadedAgainOnNoscript() throws {
        var configuration = SimulationConfiguration(initialStock: 300, strategy: .script, workers: 3)
        configuration.script = try UserScript(path: Self.example)
        var simulation = Simulation(configuration: configuration, workerExecutable: StocksimCLI.executable)
        let flushed = Mutex(false)
        simulation.afterPrepare = { connection throws in
            let reply = try connection.send("SCRIPT", "FLUSH")
            #expect(reply.string == "OK")
            flushed.withLock { $0 = true }
        }
        let report = try simulation.run()
        #expect(flushed.withLock { $0 })
        #expect(report.completed, "\(report.incompleteReason ?? "")")
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.sold == 300 && report.acknowledged == 300)
    }

    @Test func scriptNeedsAScriptAndAScriptNeedsTheStrategy() throws {
        let missing = try StocksimCLI.run(["run", "--stock", "10", "--strategy", "script"])
        #expect(missing.exitCode == 64)
        #expect(missing.stderr.contains("--strategy script needs --script FILE.lua"), "\(missing.stderr)")
        let stray = try StocksimCLI.run(["run", "--stock", "10", "--script", Self.example])
        #expect(stray.exitCode == 64)
        #expect(stray.stderr.contains("add --strategy script or drop --script"), "\(stray.stderr)")
    }
}
