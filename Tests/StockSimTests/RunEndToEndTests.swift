import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import StockSim
import Testing

/// `stocksim run` end to end: the built binary, an embedded redis-server, real worker processes.
@Suite("stocksim run", .serialized)
struct RunEndToEndTests {
    @Test(
        "safe strategies sell exactly the stock",
        arguments: [Strategy.watch, .lua, .decr], [1, 4, 16])
    func safeStrategiesSellExactlyTheStock(strategy: Strategy, workers: Int) throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "2000", "--workers", "\(workers)", "--strategy", strategy.rawValue, "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.stock.initial == 2000)
        #expect(report.stock.final == 0)
        #expect(report.sold == 2000)
        #expect(report.orders == 2000)
        #expect(report.acknowledged == 2000)
        #expect(report.workers == workers)
        #expect(report.strategy == strategy)
        #expect(StocksimCLI.leftovers(of: result).isEmpty)
    }

    @Test func unsafeIsCaughtByTheAudit() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "2000", "--workers", "8", "--strategy", "unsafe", "--json", "--quiet",
        ])
        #expect(result.exitCode == 1, "\(result.stderr)")
        let report = try result.report()
        #expect(!report.audit.passed)
        let kinds = Set(report.audit.violations.map(\.kind))
        #expect(kinds.contains(.oversell) || kinds.contains(.conservation))
        #expect(result.stderr.contains("the audit found violations"))
    }

    @Test func jsonHasTheDocumentedFields() throws {
        let result = try StocksimCLI.run(["run", "--stock", "300", "--workers", "2", "--json", "--quiet"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        for field in [
            "workers", "strategy", "stock", "sold", "orders", "acknowledged", "attempts", "conflicts",
            "sales_per_second",
            "latency_us", "spawn_seconds", "worker_peak_rss_bytes", "audit", "retries_per_sale", "per_worker_sold",
            "conflict_rate", "elapsed_seconds", "schema_version",
        ] {
            #expect(object[field] != nil, "missing \(field)")
        }
        let stock = try #require(object["stock"] as? [String: Any])
        #expect(stock["initial"] as? Int == 300)
        #expect(stock["final"] as? Int == 0)
        let latency = try #require(object["latency_us"] as? [String: Any])
        for percentile in ["p50", "p90", "p99", "p999", "max"] { #expect(latency[percentile] != nil) }
        #expect((latency["max"] as? Int ?? 0) > 0)
        let audit = try #require(object["audit"] as? [String: Any])
        #expect(audit["passed"] as? Bool == true)
        #expect((audit["violations"] as? [Any])?.isEmpty == true)
        #expect((object["worker_peak_rss_bytes"] as? Int ?? 0) > 1_000_000)
        #expect(StocksimCLI.leftovers(of: result).isEmpty)
        // The embedded server's temp dir is gone.
        let left = try FileManager.default.contentsOfDirectory(atPath: result.tmpdir)
        #expect(left.isEmpty, "left in TMPDIR: \(left)")
    }

    @Test func backoffWaitIsSleepUnlessToldToYield() throws {
        for (arguments, wait) in [([], "sleep"), (["--backoff-wait", "yield"], "yield")] {
            let result = try StocksimCLI.run(
                ["run", "--stock", "300", "--workers", "2", "--json", "--quiet"] + arguments)
            #expect(result.exitCode == 0, "\(result.stderr)")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            #expect(object["backoff_wait"] as? String == wait)
            #expect(try result.report().backoffWait == wait)
        }
    }

    @Test func humanSummaryNamesTheVerdict() throws {
        let result = try StocksimCLI.run(["run", "--stock", "200", "--workers", "2", "--quiet"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        for label in [
            "sold", "throughput", "conflicts", "retries/sale", "latency/sale", "per worker", "spawned and connected",
            "peak RSS", "audit",
        ] {
            #expect(result.stdout.contains(label), "summary lacks \(label)")
        }
        #expect(result.stdout.contains("PASSED"))
    }

    @Test func progressLinesWithoutATerminal() throws {
        let result = try StocksimCLI.run(["run", "--stock", "200", "--workers", "2"])
        #expect(result.exitCode == 0)
        #expect(result.stderr.contains("units/s"))
        let quiet = try StocksimCLI.run(["run", "--stock", "200", "--workers", "2", "--quiet"])
        #expect(!quiet.stderr.contains("units/s"))
    }

    @Test func quantityRangesSellTheStockWithoutPartialFills() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "1000", "--workers", "4", "--quantity", "1-3", "--json", "--quiet", "--seed", "7",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed)
        #expect(report.stock.final == 0)  // The smallest order is 1 unit, so nothing may remain.
        #expect(report.sold == 1000)
        #expect(report.orders < 1000)  // Orders took more than one unit on average.
    }

    @Test func ordersBelowSupplyLeaveStockThatIsNotStuck() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "1000", "--workers", "3", "--orders", "100", "--quantity", "2", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.orders == 100)
        #expect(report.sold == 200)
        #expect(report.stock.final == 800)
        #expect(!report.audit.violations.contains { $0.kind == .stuckStock })
    }

    @Test func ordersAboveSupplySellOut() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "50", "--workers", "2", "--orders", "80", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.sold == 50)
        #expect(report.stock.final == 0)
    }

    @Test func noLedgerChecksAcknowledgedSalesOnly() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "500", "--workers", "4", "--no-ledger", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed)
        #expect(report.audit.checked == "acknowledged-only")
        #expect(report.audit.notes.contains { $0.contains("acknowledged sales only") })
        #expect(report.acknowledged == 500)
        let unsafe = try StocksimCLI.run([
            "run", "--stock", "500", "--workers", "6", "--no-ledger", "--strategy", "unsafe", "--json", "--quiet",
        ])
        #expect(unsafe.exitCode == 1, "without a ledger the audit must still catch oversell")
    }
}

/// Runs against a server the test started, given with --redis: keep-stock, key isolation and bad server state.
@Suite("stocksim run --redis", .serialized)
struct RunAgainstServerTests {
    let redis: SharedRedis

    init() throws {
        redis = try SharedRedis()
    }

    @Test func keepStockTakesTheKeysValue() throws {
        let key = SharedRedis.uniqueKey()
        let connection = try redis.connection()
        try connection.send("SET", RedisArgument(key), "321")
        try connection.send("SET", "unrelated", "untouched")
        let result = try StocksimCLI.run([
            "run", "--redis", redis.url, "--key", key, "--keep-stock", "--workers", "3", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.stock.initial == 321)
        #expect(report.sold == 321)
        #expect(try connection.send("GET", RedisArgument(key)).int == 0)
        #expect(try connection.send("HLEN", RedisArgument("{\(key)}:ledger")).int == 321)
        #expect(try connection.send("GET", "unrelated").string == "untouched")
    }

    @Test func environmentVariableNamesTheServer() throws {
        let key = SharedRedis.uniqueKey()
        let result = try StocksimCLI.run(
            ["run", "--key", key, "--stock", "40", "--workers", "2", "--json", "--quiet"],
            environment: ["STOCKSIM_REDIS_URL": redis.url])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(try result.report().embedded == false)
        #expect(try redis.connection().send("GET", RedisArgument(key)).int == 0)
    }

    /// A run's choice, as `stocksim run` makes it: `--watch-ahead`, `--no-watch-ahead`, or neither (watching ahead
    /// only when one worker races nobody of its own).
    enum AheadChoice: String, CaseIterable {
        case asked = "--watch-ahead"
        case refused = "--no-watch-ahead"
        case unsaid = ""
        var arguments: [String] { self == .unsaid ? [] : [rawValue] }
    }

    @Test(
        "--watch-ahead: one round trip a sale instead of two, the audit as ever; the report says which; one worker watches ahead unless told not to"
    )
    func watchAheadHalvesTheRoundTrips() throws {
        // A server of this test's own: its read events are this run's alone.
        let server = try RedisServer()
        defer { server.stop() }
        let observer = try RedisConnection(endpoint: server.endpoint)
        func readsProcessed() throws -> Int {
            let info = try #require(try observer.send("INFO", "stats").string)
            let line = try #require(info.split(separator: "\r\n").first { $0.hasPrefix("total_reads_processed:") })
            return try #require(Int(line.dropFirst("total_reads_processed:".count)))
        }
        let units = 600
        var perSale: [AheadChoice: Double] = [:]
        for choice in AheadChoice.allCases {
            let before = try readsProcessed()
            let result = try StocksimCLI.run(
                [
                    "run", "--redis", server.url, "--key", SharedRedis.uniqueKey(), "--stock", "\(units)", "--workers",
                    "1", "--json", "--quiet",
                ] + choice.arguments)
            #expect(result.exitCode == 0, "\(result.stderr)")
            let report = try result.report()
            #expect(report.audit.passed && report.sold == Int64(units))
            #expect(report.watchAhead == (choice != .refused), "\(choice)")
            perSale[choice] = Double(try readsProcessed() - before) / Double(units)
        }
        // The driver's own commands (preparing, checking, the audit) add a few dozen read events to any run.
        #expect((perSale[.refused] ?? 0) >= 2, "\(perSale)")
        #expect((perSale[.asked] ?? 9) < 1.2, "\(perSale)")
        #expect((perSale[.unsaid] ?? 9) < 1.2, "\(perSale)")
    }

    /// Unsaid, watching ahead is for a run that races nobody of its own: with two workers, a catalog, an open loop or
    /// another host's workers the one that sold last would sell most, so the workers make two round trips a sale.
    @Test(arguments: [
        ["--workers", "2"], ["--workers", "1", "--skus", "2"],
        ["--workers", "1", "--rate", "2000", "--orders", "100"], ["--workers", "1", "--strategy", "lua"],
    ])
    func watchAheadUnsaidIsForOneWorkerAlone(arguments: [String]) throws {
        let result = try StocksimCLI.run(
            ["run", "--redis", redis.url, "--key", SharedRedis.uniqueKey(), "--stock", "100", "--json", "--quiet"]
                + arguments)
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed)
        #expect(report.watchAhead == false)
    }

    @Test func libraryRunsASimulationWithoutTheCLI() throws {
        let key = SharedRedis.uniqueKey()
        let simulation = Simulation(
            configuration: SimulationConfiguration(key: key, initialStock: 600, strategy: .lua, workers: 3),
            redis: .url(redis.url), workerExecutable: StocksimCLI.executable)
        var progressCalls = 0
        let report = try simulation.run(progress: { _ in progressCalls += 1 })
        #expect(report.audit.passed)
        #expect(report.sold == 600)
        #expect(progressCalls > 0)
    }
}

/// The leftover-process check itself must be able to fail: it finds a live embedded server and its workers.
@Suite("leftover check")
struct LeftoverCheckTests {
    @Test func findsTheServerAndWorkersOfARunningSimulation() throws {
        let directory = try TemporaryDirectory()
        let tmpdir = directory.path
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmpdir
        let child = try ChildProcess.spawn(
            StocksimCLI.executable, arguments: ["run", "--stock", "100000000", "--workers", "2", "--quiet"],
            environment: environment.map { "\($0)=\($1)" }, stdout: .devNull, stderr: .devNull, processGroup: nil)
        var found: [String] = []
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        // The driver, redis-server, its watchdog, the fork server, two workers.
        while found.count < 6, clock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            found = StocksimCLI.leftovers(tmpdir: tmpdir)
        }
        child.signal(SIGINT)
        #expect(child.wait() == .exited(130))
        #expect(found.count == 6, "found: \(found)")
        #expect(found.filter { $0.hasSuffix("[stocksim-pool]") }.count == 1)
        #expect(found.contains { $0.contains("redis-server") })
        #expect(found.contains { $0.contains("stocksim-redis-watchdog") })
        #expect(found.filter { $0.hasSuffix("[stocksim-worker]") }.count == 2)
        #expect(StocksimCLI.leftovers(tmpdir: tmpdir).isEmpty)
    }
}
