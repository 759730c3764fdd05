import Foundation
import Hiredis
import Spawn
import StockSim
import StockSimRendering
import StockSimTestSupport
import Testing

/// `stocksim sweep` end to end, and `Sweep` from the library: real redis-server, real worker processes.
@Suite("stocksim sweep", .serialized)
struct SweepEndToEndTests {
    @Test func aSmallSweepPrintsTheTableAndWritesAllThreeFiles() throws {
        let files = try TemporaryDirectory(prefix: "stocksim-sweep")
        let directory = files.path
        let csv = directory + "/sweep.csv"
        let json = directory + "/sweep.json"
        let svg = directory + "/sweep.svg"
        let result = try StocksimCLI.run([
            "sweep", "--workers", "1,2", "--strategy", "watch,lua", "--repeat", "2", "--stock", "500", "--csv", csv,
            "--json", json, "--svg", svg,
        ])
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")

        // The table: a row per point, the recommendations, the verdict.
        let lines = result.stdout.split(separator: "\n").map(String.init)
        for (strategy, workers) in [("watch", 1), ("watch", 2), ("lua", 1), ("lua", 2)] {
            #expect(
                lines.contains {
                    $0.hasPrefix(strategy + " ") && $0.split(separator: " ").dropFirst().first == "\(workers)"
                },
                "no row for \(strategy) at \(workers)")
        }
        #expect(lines.contains { $0.hasPrefix("  watch: ") && $0.contains(" worker") })
        #expect(lines.contains { $0.hasPrefix("  lua: ") && $0.contains(" worker") })
        #expect(lines.contains("audit: PASSED in every run"))

        // Progress across the whole sweep, a line per run without a terminal (and, for a run that lasts past the
        // progress interval, as on a loaded machine, a live line `[n/8] …: sold S/N …` before its result).
        let stderrLines = result.stderr.split(separator: "\n").filter { $0.hasPrefix("[") }
        let progress = stderrLines.filter { !$0.contains(": sold ") }
        #expect(progress.count == 8, "stderr: \(result.stderr)")
        #expect(stderrLines.allSatisfy { $0.range(of: #"^\[[1-8]/8\] "#, options: .regularExpression) != nil })
        #expect(progress.first?.hasPrefix("[1/8] watch, 1 worker, repeat 1/2: ") == true)
        #expect(progress.last?.hasPrefix("[8/8] lua, 2 workers, repeat 2/2: ") == true)
        #expect(
            progress.allSatisfy { $0.contains("units/s") && $0.contains("redis cpu") && $0.contains("audit passed") })

        // CSV: a header and a row per point.
        let rows = TextFile.read(csv).split(separator: "\n")
        #expect(rows.first == Substring(SweepCSV.header.joined(separator: ",")))
        #expect(rows.count == 5)
        #expect(
            rows.filter {
                $0.split(separator: ",", omittingEmptySubsequences: false).dropFirst(10).prefix(2) == ["true", "true"]
            }
            .count == 2, "one recommended point per strategy")

        // JSON: the parameters, every run's report, the aggregates, the recommendations.
        let document = try SweepResult.decode(Data(TextFile.read(json).utf8))
        #expect(document.parameters.workerCounts == [1, 2])
        #expect(document.parameters.strategies == [.watch, .lua])
        #expect(document.parameters.repeats == 2)
        #expect(document.parameters.stock == 500)
        #expect(document.completed && document.auditsPassed && !document.interrupted)
        #expect(document.embedded)
        #expect(document.points.count == 4)
        #expect(document.recommendations.map(\.strategy) == [.watch, .lua])
        var servers = Set<String>()
        for point in document.points {
            #expect(point.runs.map(\.repetition) == [1, 2])
            // Unsaid, a watch run of one worker watches ahead (it races nobody of its own); two workers do not.
            #expect(point.runs.allSatisfy { $0.report.watchAhead == (point.strategy == .watch && point.workers == 1) })
            #expect(point.aggregate?.runs == 2)
            for run in point.runs {
                #expect(run.report.strategy == point.strategy)
                #expect(run.report.workers == point.workers)
                #expect(run.report.sold == 500)
                #expect(run.report.stock.initial == 500)
                #expect(run.report.stock.final == 0)
                #expect(run.report.audit.passed)
                #expect(run.report.embedded)
                #expect((run.redisCpuPercent ?? 0) > 0, "no Redis CPU for \(point.strategy) at \(point.workers)")
                servers.insert(run.report.redis)
            }
        }
        #expect(servers.count == 1, "every run used the sweep's one redis-server: \(servers)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(TextFile.read(json).utf8)) as? [String: Any])
        let point = try #require((object["points"] as? [[String: Any]])?.first)
        let run = try #require((point["runs"] as? [[String: Any]])?.first)
        #expect(run["repeat"] as? Int == 1)
        #expect(run["redis_cpu_percent"] != nil)
        let report = try #require(run["report"] as? [String: Any])
        for field in ["schema_version", "sales_per_second", "conflict_rate", "latency_us", "retries_per_sale", "audit"]
        {
            #expect(report[field] != nil, "missing report.\(field)")
        }

        // SVG: well-formed, a series per strategy, the recommended points marked.
        let chart = try SVGDocument(TextFile.read(svg))
        #expect(chart.elements.filter { $0.attributes["class"] == "series" }.count == 2)
        #expect(chart.elements.filter { $0.attributes["class"] == "recommended" }.count == 4)

        #expect(StocksimCLI.leftovers(of: result).isEmpty)
        let left = try FileManager.default.contentsOfDirectory(atPath: result.tmpdir)
        #expect(left.isEmpty, "the embedded server left files in TMPDIR: \(left)")
    }

    @Test func theLibraryRunsASweep() throws {
        let redis = try SharedRedis()
        let key = SharedRedis.uniqueKey()
        let sweep = Sweep(
            configuration: SweepConfiguration(
                workerCounts: [1, 3], strategies: [.decr, .lua], repeats: 1,
                base: SimulationConfiguration(key: key, initialStock: 300, seed: 11)),
            redis: .url(redis.url), workerExecutable: StocksimCLI.executable)
        var started: [Int] = []
        var finished: [Int] = []
        let result = try sweep.run { progress in
            switch progress.phase {
            case .starting: started.append(progress.step.index)
            case .selling: break
            case .finished(let run):
                finished.append(progress.step.index)
                #expect(run.report.workers == progress.step.workers)
            }
        }
        #expect(started == [1, 2, 3, 4])
        #expect(finished == [1, 2, 3, 4])
        #expect(!result.embedded)
        #expect(result.completed && result.auditsPassed)
        #expect(result.points.map { "\($0.strategy)/\($0.workers)" } == ["decr/1", "decr/3", "lua/1", "lua/3"])
        for point in result.points {
            let aggregate = try #require(point.aggregate)
            let report = try #require(point.runs.first?.report)
            #expect(report.key == key)
            #expect(report.seed == 11)
            #expect(report.sold == 300)
            #expect(aggregate.runs == 1)
            #expect(aggregate.salesPerSecond.median == report.salesPerSecond)
            #expect(aggregate.conflictRate == 0)
            #expect((aggregate.redisCpuPercent ?? 0) > 0)
        }
        #expect(result.recommendations.map(\.strategy) == [.decr, .lua])
        for recommendation in result.recommendations {
            #expect([1, 3].contains(recommendation.workers))
            #expect(recommendation.salesPerSecond >= recommendation.bestSalesPerSecond * 0.95)
        }
        let connection = try redis.connection()
        #expect(try connection.send("GET", RedisArgument(key)).int == 0)
    }

    @Test func aFailedAuditIsExitOne() throws {
        let result = try StocksimCLI.run([
            "sweep", "--workers", "8", "--strategy", "unsafe", "--repeat", "1", "--stock", "2000", "--quiet",
        ])
        #expect(result.exitCode == 1, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("FAILED 1/1"))
        #expect(result.stdout.contains("audit: FAILED in 1 of 1 run (unsafe at 8)"))
        #expect(result.stderr.split(separator: "\n").count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("the audit found violations"))
        #expect(result.stderr.contains("unsafe at 8"))
    }

    @Test func aStockKeyOfTheWrongTypeIsExitTwo() throws {
        let redis = try SharedRedis()
        let key = SharedRedis.uniqueKey()
        try redis.connection().send("HSET", RedisArgument(key), "f", "v")
        let result = try StocksimCLI.run([
            "sweep", "--redis", redis.url, "--key", key, "--workers", "1,2", "--strategy", "lua", "--repeat", "1",
            "--quiet",
        ])
        #expect(result.exitCode == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("holds a hash"))
        #expect(result.stdout.isEmpty)
        #expect(try redis.connection().send("TYPE", RedisArgument(key)).string == "hash")
    }

    @Test func sigintStopsTheSweepAndReportsWhatRan() throws {
        let files = try TemporaryDirectory(prefix: "stocksim-sweep")
        let tmpdir = files.path
        let output = tmpdir + "/table"
        let json = tmpdir + "/sweep.json"
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmpdir
        let driver = try ChildProcess.spawn(
            StocksimCLI.executable,
            arguments: [
                "sweep", "--workers", "2", "--strategy", "lua", "--repeat", "3", "--stock", "100000000", "--json", json,
                "--quiet",
            ],
            environment: environment.map { "\($0)=\($1)" }, stdout: .file(output), stderr: .devNull, processGroup: nil)
        // Wait until both workers sell, then interrupt.
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while StocksimCLI.leftovers(tmpdir: tmpdir).filter({ $0.hasSuffix("[stocksim-worker]") }).count < 2,
            clock.now < deadline
        {
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.3)
        driver.signal(SIGINT)
        #expect(driver.wait() == .exited(130))
        let table = TextFile.read(output)
        #expect(table.contains("interrupted: stopped by a signal"))
        let document = try SweepResult.decode(Data(TextFile.read(json).utf8))
        #expect(document.interrupted)
        #expect(!document.completed, "completed and interrupted are never both true")
        #expect(document.points.count == 1)
        #expect(document.points.first?.runs.count == 1, "the sweep went on after the signal")
        #expect(document.points.first?.runs.first?.report.interrupted == true)
        #expect(document.points.first?.aggregate == nil, "a stopped run has no figures to count")
        #expect(StocksimCLI.leftovers(tmpdir: tmpdir).isEmpty)
    }
}
