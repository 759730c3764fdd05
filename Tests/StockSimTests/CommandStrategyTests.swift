import Foundation
import StockSim
import Testing

/// `stocksim run --strategy command --worker-command 'CMD ARGS…'`: the example clients under StockSim's load and audit.
@Suite("run --strategy command", .serialized)
struct CommandStrategyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func run(_ client: String, stock: Int = 400) throws -> StocksimCLI.Result? {
        guard let python = ExampleClientTests.python else { return nil }
        return try StocksimCLI.run([
            "run", "--stock", String(stock), "--workers", "4", "--strategy", "command", "--worker-command",
            "\(python) \(Self.root)/examples/\(client)", "--json", "--quiet",
        ])
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

    @Test(
        .disabled(
            "flaky: whether GET-then-DECRBY races depends on timing; passed alone, failed in the full suite — needs a deterministic case"
        ))
    func theBrokenClientIsCaughtWithTheViolationNamed() throws {
        let result = try #require(try run("python_broken_client.py", stock: 3000))
        #expect(result.exitCode == 1, "\(result.stderr)")
        let report = try result.report()
        #expect(!report.audit.passed)
        #expect(result.stderr.contains("the audit found violations ("), "\(result.stderr)")
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
