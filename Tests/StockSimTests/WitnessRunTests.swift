import Foundation
import Hiredis
import Synchronization
import Testing

@testable import StockSim

/// The per-sale witness in real runs: it passes every correct strategy, under chaos too, and catches a lost update
/// that the totals cannot see.
@Suite("per-sale witness in runs", .serialized)
struct WitnessRunTests {
    let redis: SharedRedis

    init() throws {
        redis = try SharedRedis()
    }

    static let witnessKinds: Set<AuditViolation.Kind> = [.staleRead, .gap, .chainStart, .chainEnd]

    /// `unsafe` loses updates; a compensating DECRBY after the sale makes the stock taken equal the ledger, so every
    /// total balances. Only the chain of sales shows that two of them sold the same units.
    @Test(arguments: [true, false])
    func catchesALostUpdateThatTheTotalsMiss(ledger: Bool) throws {
        let key = SharedRedis.uniqueKey("lost-update-\(ledger)")
        var simulation = Simulation(
            configuration: SimulationConfiguration(
                key: key, initialStock: 1_000_000, recordsLedger: ledger, orders: 4000, strategy: .unsafe,
                workers: 4),
            redis: .url(redis.url), workerExecutable: StocksimCLI.executable)
        let compensated = Mutex<Int64>(0)
        simulation.afterSale = { connection in
            let final = try connection.send("GET", RedisArgument(key)).int ?? 0
            // The units sold (4000 orders of 1) minus the units the stock lost: what the lost updates hid.
            let excess = 4000 - (1_000_000 - final)
            compensated.withLock { $0 = excess }
            try connection.send("DECRBY", RedisArgument(key), RedisArgument(excess))
        }
        let report = try simulation.run()
        #expect(compensated.withLock { $0 } > 0, "four unsafe workers lost no update: the case was not built")
        let kinds = Set(report.audit.violations.map(\.kind))
        #expect(kinds.contains(.staleRead), "\(report.audit)")
        // Without the witness the audit passes: the totals balance.
        #expect(kinds.subtracting(Self.witnessKinds).isEmpty, "\(report.audit.violations)")
        #expect(report.stock.final == Int64(1_000_000 - 4000))
        let staleRead = report.audit.violations.first { $0.kind == .staleRead }?.detail ?? ""
        #expect(staleRead.contains("sold twice") && staleRead.contains("worker"))
    }

    @Test(arguments: [Strategy.watch, .lua, .unsafe])
    func passesACorrectChainAndSaysWhatItChecked(strategy: Strategy) throws {
        let key = SharedRedis.uniqueKey("chain-\(strategy)")
        // One worker: even unsafe's sales form a chain when nobody races it.
        let report = try Simulation(
            configuration: SimulationConfiguration(
                key: key, initialStock: 500, quantity: Quantity(parsing: "1-3"), strategy: strategy,
                workers: strategy == .unsafe ? 1 : 3),
            redis: .url(redis.url), workerExecutable: StocksimCLI.executable
        ).run()
        #expect(report.audit.passed, "\(report.audit)")
        let note = report.audit.notes.first { $0.hasPrefix("per-sale witness:") } ?? ""
        #expect(note.contains("\(report.orders) sales on 1 key checked"), "\(report.audit.notes)")
    }

    @Test func catalogCartsAreCheckedPerSKU() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "2400", "--skus", "8", "--groups", "2", "--cart-size", "2", "--workers", "3",
            "--strategy", "watch", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed)
        #expect(report.audit.notes.contains { $0.contains("on 8 keys checked") }, "\(report.audit.notes)")
    }

    /// `--no-witness`, for measuring what the witness costs: the workers record nothing, and the notes say the
    /// witness was not checked; the audit itself is unchanged.
    @Test func noWitnessRecordsNothingAndSaysSo() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "300", "--workers", "2", "--no-witness", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let audit = try result.report().audit
        #expect(audit.passed, "\(audit)")
        #expect(
            audit.notes.contains("per-sale witness: not checked: --no-witness: the workers recorded no sales"),
            "\(audit.notes)")
    }

    @Test func decrIsNotCheckedAndSaysWhy() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "2000", "--workers", "4", "--strategy", "decr", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let notes = try result.report().audit.notes
        #expect(notes.contains { $0.hasPrefix("per-sale witness: not checked: decr's DECRBY reply") }, "\(notes)")
    }

    /// Killed workers, killed connections (lost replies: unknown outcomes) and a restart: no false chain break.
    /// `script` runs examples/sale.lua, which the restart flushes: its workers meet NOSCRIPT and load it again.
    @Test(arguments: [(Strategy.watch, true), (.lua, true), (.lua, false), (.watch, false), (.script, true)])
    func passesCorrectStrategiesUnderChaos(strategy: Strategy, ledger: Bool) throws {
        let result = try StocksimCLI.run(
            [
                "run", "--stock", "6000", "--workers", "4", "--strategy", strategy.rawValue,
                "--chaos", "kill-worker:1,client-kill:6,restart-redis:1", "--seed", "7", "--json", "--quiet",
            ] + (ledger ? [] : ["--no-ledger"])
                + (strategy == .script ? ["--script", ScriptStrategyTests.example] : []))
        let report = try result.report()
        #expect(!report.audit.violations.contains { Self.witnessKinds.contains($0.kind) }, "\(report.audit)")
        #expect(report.audit.notes.contains { $0.contains("sales on 1 key checked") }, "\(report.audit.notes)")
        if ledger {
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(report.audit.passed, "\(report.audit)")
        }
        #expect(report.workerFailures.count == 1)
    }
}
