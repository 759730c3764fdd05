import Foundation
import StockSim
import Testing

/// `stocksim run --strategy command --worker-command 'CMD ARGS…'`: the example clients under StockSim's load and audit.
@Suite("run --strategy command", .serialized)
struct CommandStrategyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func run(_ client: String, stock: Int = 400, _ extra: [String] = []) throws -> StocksimCLI.Result? {
        guard let python = ExampleClientTests.python else { return nil }
        return try StocksimCLI.run(
            [
                "run", "--stock", String(stock), "--workers", "4", "--strategy", "command", "--worker-command",
                "\(python) \(Self.root)/examples/\(client)", "--json", "--quiet",
            ] + extra)
    }

    @Test(.enabled(if: ExampleClientTests.pythonWithRedis, "no Python with redis-py (scripts/test.sh provides one)"))
    func theCorrectClientPassesTheAudit() throws {
        let result = try #require(try run("python_watch_client.py"))
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.sold == 400 && report.acknowledged == 400)
        #expect(report.audit.notes.contains { $0.contains("sales on 1 key checked") }, "\(report.audit.notes)")
    }

    /// Deterministic: with `--race 4` the first order of each of the 4 clients waits after its GET until all 4 have
    /// read, so all 4 pass the check on a stock of 3 and the DECRBYs take at least 4 units. Without the race barrier the lost
    /// update depends on timing (the test was once disabled as flaky for that).
    @Test(.enabled(if: ExampleClientTests.pythonWithRedis, "no Python with redis-py (scripts/test.sh provides one)"))
    func theBrokenClientIsCaughtWithTheViolationNamed() throws {
        let result = try #require(try run("python_broken_client.py --race 4", stock: 3))
        #expect(result.exitCode == 1, "\(result.stderr)")
        let report = try result.report()
        #expect(!report.audit.passed)
        // At least the 4 racing sales of 1 unit from 3 (a client that sells again before the others decrement may
        // sell more): at least 1 oversold, every time.
        #expect(report.acknowledged >= 4 && (report.stock.final ?? 0) <= -1, "\(report.audit)")
        let kinds = Set(report.audit.violations.map(\.kind))
        #expect(kinds == [.oversell, .negativeStock], "\(report.audit)")
        #expect(result.stderr.contains("the audit found violations ("), "\(result.stderr)")
        #expect(result.stderr.contains("oversell"), "\(result.stderr)")
    }

    /// The correct client on the same tiny stock: WATCH turns the race into conflicts, and nothing is oversold.
    @Test(.enabled(if: ExampleClientTests.pythonWithRedis, "no Python with redis-py (scripts/test.sh provides one)"))
    func theCorrectClientPassesOnATinyStockToo() throws {
        let result = try #require(try run("python_watch_client.py", stock: 3))
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.sold == 3 && report.acknowledged == 3 && report.stock.final == 0)
    }

    /// After `ready`, a program that answers outside the protocol, one that hangs past `--command-timeout` and one
    /// that crashes mid-run: each stops its worker with one line naming its pid and its last stderr lines, exit 2.
    @Test(arguments: [
        ("echo ready; read line; echo protocol-on-purpose >&2; echo nonsense", "broke protocol v1"),
        ("echo ready; read line; echo hanging-on-purpose >&2; sleep 30", "gave no answer within"),
        ("echo ready; read line; echo crashing-on-purpose >&2; exit 9", "closed its stdout"),
    ])
    func aProgramThatBreaksTheProtocolHangsOrCrashesIsNamedByPid(command: String, message: String) throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "100", "--workers", "1", "--strategy", "command", "--worker-command", command,
            "--command-timeout", "500", "--json", "--quiet",
        ])
        #expect(result.exitCode == 2, "\(result.stderr)")
        let report = try result.report()
        #expect(!report.completed)
        let reason = report.incompleteReason ?? ""
        #expect(reason.contains("(pid ") && reason.contains(message), "\(reason)")
        #expect(reason.contains("-on-purpose"), "its last stderr lines: \(reason)")
    }

    @Test func aProgramThatDiesBeforeReadyIsNamedWithItsStderr() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "100", "--workers", "1", "--strategy", "command", "--worker-command",
            "echo broken-on-purpose >&2; exit 3", "--quiet",
        ])
        #expect(result.exitCode == 2, "\(result.stderr)")
        #expect(result.stderr.contains("(pid "), "\(result.stderr)")
        #expect(result.stderr.contains("broken-on-purpose"), "\(result.stderr)")
    }
}
