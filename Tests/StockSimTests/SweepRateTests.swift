import Foundation
import Hiredis
import Spawn
import StockSim
import StockSimRendering
import StockSimTestSupport
import Testing

/// `stocksim sweep --rate LIST --p99-target MS`: rates as a sweep dimension, the corrected p99 per point, and per
/// strategy and worker count the highest rate whose p99 met the target. Real sweeps on the suite's own
/// redis-server, 1 s per point; bad input refused with one line and status 64.
@Suite("sweep over rates", .serialized)
struct SweepRateTests {
    let redis: SharedRedis

    init() throws { redis = try SharedRedis() }

    // MARK: Input

    @Test(arguments: [
        ("500", [500.0]),
        ("2000,500,1000,500", [500.0, 1_000, 2_000]),
        (" 2.5 , 10", [2.5, 10]),
    ])
    func ratesParseAscendingOnce(text: String, rates: [Double]) throws {
        #expect(try SweepConfiguration.rates(parsing: text) == rates)
    }

    @Test(arguments: ["0", "-5", "500,abc", "500,,1000", "", "inf", "nan", "1e400"])
    func badRatesAreRefusedNamingTheItem(text: String) {
        #expect {
            try SweepConfiguration.rates(parsing: text)
        } throws: { error in
            let message = (error as? ConfigurationError)?.message ?? ""
            return message.contains("is not a positive number of orders per second") && message.contains("500,1000")
        }
    }

    @Test func theConfigurationChecksTheOpenLoop() {
        func message(_ change: (inout SweepConfiguration) -> Void) -> String? {
            var configuration = SweepConfiguration(
                workerCounts: [1], strategies: [.lua], repeats: 1,
                base: SimulationConfiguration(initialStock: 100, durationMilliseconds: 1_000))
            change(&configuration)
            do {
                try configuration.validate()
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message { $0.rates = [100, 200] } == nil)
        #expect(message { $0.p99TargetMicroseconds = 5_000 }?.contains("add --rate LIST") == true)
        #expect(
            message {
                $0.rates = [100]
                $0.base.durationMilliseconds = nil
            }?.contains("add --duration") == true)
        #expect(message { $0.rates = [0] }?.contains("rates must be positive") == true)
        #expect(
            message {
                $0.rates = [100]
                $0.p99TargetMicroseconds = 0
            }?.contains("--p99-target must be a positive number") == true)
    }

    @Test(arguments: [
        (["sweep", "--p99-target", "5"], "--p99-target picks the highest rate that meets it; add --rate LIST"),
        (["sweep", "--rate", "0", "--duration", "1s"], "'0' is not a positive number of orders per second"),
        (["sweep", "--rate", "500,abc", "--duration", "1s"], "'abc' is not a positive number of orders per second"),
        (["sweep", "--rate", "500,-1", "--duration", "1s"], "'-1' is not a positive number"),
        (["sweep", "--rate", "500"], "--rate needs a bound for each run: add --duration"),
        (["sweep", "--arrival", "poisson"], "add --rate LIST or drop --arrival"),
        (["sweep", "--rate", "500", "--duration", "1s", "--arrival", "bursty"], "'bursty' is not an arrival process"),
        (["sweep", "--rate", "500", "--duration", "1s", "--p99-target", "0"], "--p99-target '0' is not a positive"),
        (["sweep", "--rate", "500", "--duration", "1s", "--p99-target", "fast"], "--p99-target 'fast'"),
        (["run", "--rate", "500,1000", "--duration", "1s"], "run takes one rate; compare several with stocksim sweep"),
        (
            ["sweep", "--strategy", "lua,watch", "--rate", "500", "--duration", "1s", "--watch-ahead"],
            "--watch-ahead is for a closed loop"
        ),
    ])
    func badOpenLoopSweepInputExits64WithOneLine(arguments: [String], message: String) throws {
        let result = try StocksimCLI.run(arguments + ["--redis", redis.url, "--quiet"])
        #expect(result.exitCode == 64, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func aRateThatFailedItsAuditMeetsNoTarget() {
        func point(_ rate: Double, _ p99: Double, failures: Int = 0, workers: Int = 1) -> SweepPoint {
            SweepPoint(
                strategy: .lua, workers: workers, rate: rate,
                aggregate: SweepAggregate(
                    runs: 1, salesPerSecond: SweepSpread(min: rate, median: rate, max: rate), conflictRate: 0,
                    latencyP99Us: p99, retriesPerSaleP99: 0, redisCpuPercent: nil, correctedLatencyP99Us: p99),
                auditFailures: failures)
        }
        let points = [point(100, 900), point(200, 950, failures: 1), point(400, 5_000), point(800, 10, workers: 2)]
        let finding = SweepRateFinding.find(strategy: .lua, workers: 1, points: points, p99TargetUs: 1_000)
        #expect(finding?.highestRate == 100)
        #expect(finding?.missedRate == 200)
        #expect(finding?.ratesMissed == [200, 400])
        #expect(SweepRateFinding.find(strategy: .watch, workers: 1, points: points, p99TargetUs: 1_000) == nil)
    }

    // MARK: Real sweeps

    /// Three rates at one worker count, on the suite's own server: each point an open loop of 1 s at its rate; the
    /// JSON, CSV, table and chart all carry the corrected p99 per point and the same finding, which is the highest
    /// rate whose points' corrected p99 met the target.
    @Test func aSweepOverThreeRatesFindsTheHighestRateUnderTheTarget() throws {
        let key = SharedRedis.uniqueKey()
        let files = try TemporaryDirectory(prefix: "stocksim-sweep-rate")
        let csv = files.path + "/sweep.csv"
        let json = files.path + "/sweep.json"
        let svg = files.path + "/sweep.svg"
        let rates = [100.0, 300, 900]
        let result = try StocksimCLI.run([
            "sweep", "--redis", redis.url, "--key", key, "--workers", "1", "--strategy", "lua", "--repeat", "1",
            "--stock", "100000", "--rate", "900,100,300", "--duration", "1s", "--p99-target", "5", "--csv", csv,
            "--json", json, "--svg", svg, "--quiet",
        ])
        #expect(result.exitCode == 0, "stderr: \(result.stderr)")

        let document = try SweepResult.decode(Data(TextFile.read(json).utf8))
        #expect(document.parameters.rates == rates)
        #expect(document.parameters.arrival == .constant)
        #expect(document.parameters.p99TargetUs == 5_000)
        #expect(document.points.map(\.rate) == rates)
        var passing: [Double] = []
        for point in document.points {
            let rate = try #require(point.rate)
            let run = try #require(point.runs.first)
            let open = try #require(run.report.openLoop, "point at \(rate)/s ran a closed loop")
            #expect(open.targetRate == rate)
            // About 1 s of the schedule: a slow start places fewer, never many more.
            #expect(open.ordersPlaced > 0 && Double(open.ordersPlaced) <= rate * 1.3 + 5, "\(open.ordersPlaced)")
            #expect(run.report.audit.passed)
            let aggregate = try #require(point.aggregate)
            #expect(aggregate.correctedLatencyP99Us == Double(open.latencyUsCorrected.p99))
            #expect(aggregate.achievedRate == open.achievedRate)
            if Double(open.latencyUsCorrected.p99) <= 5_000 { passing.append(rate) }
        }
        let finding = try #require(document.rateFindings?.first)
        #expect(document.rateFindings?.count == 1)
        #expect(finding.strategy == .lua && finding.workers == 1)
        #expect(finding.highestRate == passing.max(), "\(finding) from \(passing)")
        #expect(finding.ratesMet == passing)
        #expect(
            finding.verdict == (passing.isEmpty ? .noneMet : passing.count == rates.count ? .everyMet : .met))

        // The CSV: a row per rate, each with its corrected p99 and the finding.
        let rows = TextFile.read(csv).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let header = try #require(rows.first)
        #expect(header == SweepCSV.header)
        #expect(rows.count == 4)
        let rate = try #require(header.firstIndex(of: "rate"))
        let corrected = try #require(header.firstIndex(of: "corrected_latency_p99_us"))
        let meets = try #require(header.firstIndex(of: "meets_p99_target"))
        let highest = try #require(header.firstIndex(of: "highest_rate_meeting_target"))
        #expect(rows.dropFirst().map { $0[rate] } == ["100", "300", "900"])
        for (row, point) in zip(rows.dropFirst(), document.points) {
            #expect(row[corrected] == String(format: "%.0f", point.aggregate?.correctedLatencyP99Us ?? -1))
            #expect(row[meets] == (passing.contains(point.rate ?? 0) ? "true" : "false"))
            #expect(row[highest] == (passing.max().map { String(format: "%.0f", $0) } ?? ""))
        }

        // The table and the chart say the same.
        #expect(result.stdout.contains("highest rate whose corrected p99 meets 5.00 ms"))
        #expect(result.stdout.contains("  \(finding)"), "\(result.stdout)")
        let chart = try SVGDocument(TextFile.read(svg))
        #expect(chart.elements.filter { $0.attributes["class"] == "p99" }.count == 1)
        #expect(chart.elements.contains { $0.attributes["class"] == "p99-target" })
        #expect(chart.texts.contains(finding.description))
        #expect(
            chart.elements.filter { $0.attributes["class"] == "highest-rate" }.map { $0.attributes["data-rate"] }
                == (passing.max().map { [String(format: "%.0f", $0)] } ?? []))

        _ = try redis.connection().send(
            "DEL", RedisArgument(key), RedisArgument("{\(key)}:ledger"), RedisArgument("{\(key)}:run"))
    }

    /// A target below any round trip (1 µs): no rate meets it, and the sweep says so (a finding, status 0).
    @Test func aTargetNoRateMeetsIsSaidSo() throws {
        let key = SharedRedis.uniqueKey()
        var configuration = SweepConfiguration(
            workerCounts: [1, 2], strategies: [.lua], repeats: 1,
            base: SimulationConfiguration(key: key, initialStock: 100_000, seed: 5, durationMilliseconds: 1_000))
        configuration.rates = [100, 400]
        configuration.arrival = .poisson
        configuration.p99TargetMicroseconds = 1
        let sweep = Sweep(
            configuration: configuration, redis: .url(redis.url), workerExecutable: StocksimCLI.executable)
        let result = try sweep.run()
        #expect(result.completed && result.auditsPassed)
        #expect(result.points.map { "\($0.workers)@\($0.rate ?? 0)" } == ["1@100.0", "1@400.0", "2@100.0", "2@400.0"])
        #expect(result.points.allSatisfy { ($0.aggregate?.correctedLatencyP99Us ?? 0) > 1 })
        let findings = try #require(result.rateFindings)
        #expect(findings.map(\.workers) == [1, 2])
        for finding in findings {
            #expect(finding.verdict == .noneMet)
            #expect(finding.highestRate == nil)
            #expect(finding.missedRate == 100)
            #expect(finding.description.contains("no rate met it (100/s: p99 "), "\(finding)")
        }
        let table = SweepTable(result).text()
        #expect(table.contains("  lua at 1 worker: no rate met it (100/s: p99 "))
        #expect(table.contains("  lua at 2 workers: no rate met it (100/s: p99 "))
        #expect(!table.contains("highest rate under target"))
        #expect(SweepCSV(result).text().split(separator: "\n").dropFirst().allSatisfy { $0.hasSuffix(",1,false,") })
        _ = try redis.connection().send(
            "DEL", RedisArgument(key), RedisArgument("{\(key)}:ledger"), RedisArgument("{\(key)}:run"))
    }
}
