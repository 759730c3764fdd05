import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import Testing

@testable import StockSim

/// The process pool under failure, the terminal display, and the Lua script's reload.
@Suite("process pool", .serialized)
struct PoolTests {
    /// Starts `stocksim ARGUMENTS` in the background with a private TMPDIR.
    func start(_ arguments: [String], tmpdir: String, stdout: String) throws -> ChildProcess {
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmpdir
        return try ChildProcess.spawn(
            StocksimCLI.executable, arguments: arguments, environment: environment.map { "\($0)=\($1)" },
            stdout: .file(stdout), stderr: .devNull, processGroup: nil)
    }

    @Test func aWorkerKilledMidRunIsReportedAndTheOthersFinishTheStock() throws {
        let directory = try TemporaryDirectory()
        let tmpdir = directory.path
        let output = tmpdir + "/report.json"
        let driver = try start(
            ["run", "--stock", "40000", "--workers", "3", "--strategy", "lua", "--json", "--quiet"], tmpdir: tmpdir,
            stdout: output)
        // Wait until the workers sell, then kill one of them.
        var victim: Int32?
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while victim == nil, clock.now < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            victim = StocksimCLI.leftovers(tmpdir: tmpdir).first { $0.hasSuffix("[stocksim-worker]") }
                .flatMap { Int32($0.prefix { $0 != ":" }) }
        }
        let pid = try #require(victim)
        Thread.sleep(forTimeInterval: 0.3)
        kill(pid, SIGKILL)
        let ended = driver.wait()
        let report = try SimulationReport.decode(Data(TextFile.read(output).utf8))
        #expect(ended == .exited(0), "\(report.audit)")
        let failure = try #require(report.workerFailures.first)
        #expect(failure.pid == pid)
        #expect(failure.termination.contains("SIGKILL"))
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.stock.final == 0)
        #expect(report.sold == 40000)
        #expect(report.acknowledged <= 40000)
        #expect(StocksimCLI.leftovers(tmpdir: tmpdir).isEmpty)
    }

    @Test func missingRedisServerSaysHowToInstallIt() throws {
        let result = try StocksimCLI.run(["run", "--stock", "10", "--quiet"], environment: ["PATH": "/nonexistent"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("redis-server is not installed"))
        #expect(result.stderr.contains("apt-get install redis-server"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func progressIsRedrawnInPlaceOnATerminal() throws {
        let script = try #require(ChildProcess.which("script"), "util-linux's script(1) provides the terminal")
        let directory = try TemporaryDirectory()
        let tmpdir = directory.path
        let output = tmpdir + "/typescript"
        let command = "\(StocksimCLI.executable) run --stock 20000 --workers 2 --strategy lua"
        let child = try ChildProcess.spawn(
            script, arguments: ["-qfec", command, output], stdout: .devNull, stderr: .devNull, processGroup: nil)
        #expect(child.wait() == .exited(0))
        let screen = TextFile.read(output)
        #expect(screen.contains("\r\u{1B}[2Ksold "), "no in-place progress line in: \(screen.prefix(300))")
        #expect(screen.contains("PASSED"))
    }

    @Test func luaReloadsItsScriptAfterScriptFlush() throws {
        let server = try RedisServer()
        let connection = try RedisConnection(endpoint: server.endpoint)
        let keys = StockKeys(stock: "lua:reload")
        try connection.send("SET", RedisArgument(keys.stock), 5)
        let sha = try LuaSale.load(on: connection)
        try connection.send("SCRIPT", "FLUSH")
        let sale = LuaSale(
            keys: SaleKeys(
                layout: CatalogLayout(key: keys.stock, skus: 1, groups: 1), cartSize: 1, recordsLedger: true),
            sha: sha, reportsLeft: true)
        #expect(
            try sale.place(Order(id: "r:0:1", units: 2, skus: [0], group: 0), verify: false, on: connection)
                == .sold(attempts: 1, conflicts: 0, left: .one(3)))
        #expect(try connection.send("GET", RedisArgument(keys.stock)).int == 3)
        #expect(try connection.send("HGET", RedisArgument(keys.ledger), "r:0:1").int == 2)
        #expect(try connection.send("SCRIPT", "EXISTS", RedisArgument(sha)) == .array([.integer(1)]))
    }
}
