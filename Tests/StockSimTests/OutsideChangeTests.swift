import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import StockSim
import Testing

/// Another client changes the run's keys mid-run, or the server is gone at the end: the audit says what happened,
/// with its own kind and exit status (issue 10, class 5).
@Suite("outside changes", .serialized)
struct OutsideChangeTests {
    /// Starts a time-bounded run against `server`, waits for sales, applies `change`, and returns the finished run.
    func runAndChange(
        _ server: RedisServer, strategy: Strategy = .watch, _ change: (RedisConnection) throws -> Void
    ) throws -> StocksimCLI.Result {
        let run = try StocksimCLI.start([
            "run", "--redis", server.url, "--stock", "100000000", "--workers", "2", "--strategy", strategy.rawValue,
            "--duration", "2s", "--json", "--quiet",
        ])
        let connection = try RedisConnection(endpoint: server.endpoint)
        #expect(StocksimCLI.waitUntil { (try? connection.send("HLEN", "{stock:count}:ledger").int ?? 0) ?? 0 > 200 })
        try change(connection)
        return run.finish(timeout: .seconds(60))
    }

    @Test(arguments: [Strategy.watch, .lua, .decr])
    func stockAddedByAnotherClientIsNotAnOversell(strategy: Strategy) throws {
        let server = try RedisServer()
        let result = try runAndChange(server, strategy: strategy) { try $0.send("INCRBY", "stock:count", "500") }
        #expect(result.exitCode == 3, "\(result.stderr)")
        #expect(result.stderr.contains("changed from outside the run"))
        let report = try result.report()
        #expect(report.audit.violations.map(\.kind) == [.stockChangedOutside], "\(report.audit.violations)")
        #expect(report.audit.violations.first?.detail.contains("at least 500 units added") == true)
        #expect(report.endReason == .timeLimit)
    }

    @Test func ledgerDeletedByAnotherClientIsNotADuplicate() throws {
        let server = try RedisServer()
        let result = try runAndChange(server) { try $0.send("DEL", "{stock:count}:ledger") }
        #expect(result.exitCode == 3, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.violations.map(\.kind) == [.ledgerChangedOutside], "\(report.audit.violations)")
        #expect(report.audit.checked == "acknowledged-only")
    }

    @Test func decrWithItsStockKeyDeletedDoesNotCompleteLikeTheOthers() throws {
        let server = try RedisServer()
        let result = try runAndChange(server, strategy: .decr) { try $0.send("DEL", "stock:count") }
        #expect(result.exitCode == 2, "\(result.stderr)")
        #expect(result.stderr.contains("deleted or changed mid-run"))
        let report = try result.report()
        #expect(!report.completed)
        #expect(report.audit.violations.map(\.kind) == [.stockChangedOutside], "\(report.audit.violations)")
    }

    @Test func anUnreachableServerAtTheEndIsNotAnAudit() throws {
        let server = try RedisServer()
        let run = try StocksimCLI.start([
            "run", "--redis", server.url, "--stock", "10000000", "--workers", "2", "--reconnect-timeout", "500",
            "--quiet",
        ])
        let connection = try RedisConnection(endpoint: server.endpoint)
        #expect(StocksimCLI.waitUntil { (try? connection.send("HLEN", "{stock:count}:ledger").int ?? 0) ?? 0 > 200 })
        server.kill()
        let result = run.finish(timeout: .seconds(60))
        #expect(result.exitCode == 2, "\(result.stderr)")
        #expect(result.stdout.contains("audit         NOT PERFORMED"), "\(result.stdout)")
        #expect(result.stdout.contains("stock not read back"))
        #expect(!result.stdout.contains("stock key gone"))
        #expect(!result.stdout.contains("FAILED"))
        #expect(result.stdout.contains("ended         failed"))
    }
}
