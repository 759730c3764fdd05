import Foundation
import Hiredis
import Spawn
import StockSim
import Testing

/// Open-loop arrivals (`--rate`, `--arrival`), the per-second `intervals[]` and `--hdr-out`, end to end: the built
/// binary, real workers, a redis-server each run (or the suite's own) started for it.
@Suite("open loop", .serialized)
struct OpenLoopTests {
    let redis: SharedRedis

    init() throws { redis = try SharedRedis() }

    @Test func aModestRateOverTwoSecondsPlacesThatManyOrders() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "10000", "--workers", "2", "--strategy", "lua", "--rate", "200", "--duration", "2s",
            "--seed", "7", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        let open = try #require(report.openLoop)
        #expect(open.targetRate == 200)
        #expect(open.arrival == .constant)
        // A closed loop would place thousands in 2 s; the schedule allows about 400 (a slow start places fewer).
        #expect(open.ordersPlaced >= 150 && open.ordersPlaced <= 460, "\(open.ordersPlaced)")
        #expect(open.achievedRate > 60 && open.achievedRate < 240, "\(open.achievedRate)")
        #expect(report.sold == Int64(open.ordersPlaced))
        #expect(open.latencyUsUncorrected == report.latencyUs)
        #expect(open.latencyUsCorrected.p50 >= report.latencyUs.p50 / 2)
        try expectIntervalsSum(report)
        #expect((report.intervals ?? []).count >= 2)
    }

    @Test func anOrderBoundEndsThePoissonScheduleOnTime() throws {
        let directory = try TemporaryDirectory()
        let prefix = directory.path + "/latency"
        let result = try StocksimCLI.run([
            "run", "--stock", "10000", "--workers", "2", "--rate", "400", "--arrival", "poisson", "--orders", "200",
            "--seed", "11", "--hdr-out", prefix, "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.sold == 200)
        let open = try #require(report.openLoop)
        #expect(open.arrival == .poisson)
        #expect(open.ordersPlaced == 200)
        // 200 orders at 400/s take about half a second; a closed loop takes a few milliseconds.
        #expect(report.elapsedSeconds >= 0.3, "\(report.elapsedSeconds)")
        #expect(report.hdrFiles == [prefix + ".hgrm", prefix + ".corrected.hgrm"])
        for path in [prefix + ".hgrm", prefix + ".corrected.hgrm"] { try expectHgrm(path, count: 200) }
    }

    @Test func theClosedLoopHasIntervalsAndOneHistogram() throws {
        let directory = try TemporaryDirectory()
        let prefix = directory.path + "/closed"
        let result = try StocksimCLI.run([
            "run", "--stock", "2000", "--workers", "2", "--hdr-out", prefix, "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.openLoop == nil)
        try expectIntervalsSum(report)
        #expect(report.hdrFiles == [prefix + ".hgrm"])
        try expectHgrm(prefix + ".hgrm", count: 2000)
        #expect(!FileManager.default.fileExists(atPath: prefix + ".corrected.hgrm"))
    }

    /// A stall made on the suite's own Redis in the middle of an open-loop run: the orders that waited behind it
    /// were due all along, so the corrected p99 shows the stall; the uncorrected p99 (from each send) hides it,
    /// as a closed loop does.
    @Test func aStallShowsInTheCorrectedLatencyOnly() throws {
        let key = SharedRedis.uniqueKey()
        let run = try StocksimCLI.start([
            "run", "--redis", redis.url, "--key", key, "--stock", "100000", "--workers", "2", "--strategy", "lua",
            "--rate", "200", "--duration", "3s", "--json", "--quiet",
        ])
        let admin = try redis.connection()
        let selling = try StocksimCLI.waitUntil {
            let left = try admin.send("GET", RedisArgument(key)).int ?? 100_000
            return left < 99_900
        }
        #expect(selling)
        _ = try admin.send("CLIENT", "PAUSE", 600, "ALL")
        let result = run.finish()
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        let open = try #require(report.openLoop)
        #expect(open.latencyUsCorrected.p99 >= 250_000, "\(open.latencyUsCorrected)")
        #expect(open.latencyUsUncorrected.p99 * 2 < open.latencyUsCorrected.p99, "\(open.latencyUsUncorrected)")
        #expect(open.maxBehindMs >= 250, "\(open.maxBehindMs)")
        _ = try admin.send("DEL", RedisArgument(key), RedisArgument("{\(key)}:ledger"), RedisArgument("{\(key)}:run"))
    }

    /// An open loop's workers sleep until each order is due and measure the corrected latency from that instant, so
    /// they run with 1 ns of timer slack: with the kernel's default (50 µs) a sleep ended up to 50 µs late and the
    /// corrected p50 of a 4,000/s run over two workers read 88 µs against 20 µs from the send; 39 µs with it.
    @Test func openLoopWorkersSleepWithoutTimerSlack() throws {
        let key = SharedRedis.uniqueKey()
        let run = try StocksimCLI.start([
            "run", "--redis", redis.url, "--key", key, "--stock", "100000", "--workers", "2", "--strategy", "lua",
            "--rate", "200", "--duration", "3s", "--no-ledger", "--json", "--quiet",
        ])
        let admin = try redis.connection()
        func slacks() -> [String] {
            StocksimCLI.leftovers(tmpdir: run.tmpdir).filter { $0.hasSuffix("[stocksim-worker]") }.map { line in
                let pid = line.prefix(while: { $0 != ":" })
                return TextFile.read("/proc/\(pid)/timerslack_ns").trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        var seen: [String] = []
        let selling = try StocksimCLI.waitUntil {
            let left = try admin.send("GET", RedisArgument(key)).int ?? 100_000
            seen = slacks()
            return left < 99_950 && seen.count == 2
        }
        let result = run.finish()
        #expect(selling, "\(seen)")
        #expect(seen == ["1", "1"], "each worker's /proc/PID/timerslack_ns")
        #expect(result.exitCode == 0, "\(result.stderr)")
        _ = try admin.send("DEL", RedisArgument(key), RedisArgument("{\(key)}:ledger"), RedisArgument("{\(key)}:run"))
    }

    /// `--rate` over two hosts of two workers each: the rate is the whole run's, each host takes half of it, and
    /// the report's open loop covers every host's orders. Were each host to run the whole rate, twice as many
    /// orders would be placed.
    @Test func aRateOverTwoHostsIsSplitAcrossThem() throws {
        let network = try HostNetwork(hosts: 2)
        let coordinator = try network.start(
            host: 0,
            [
                "run", "--redis", network.url(host: 0), "--hosts", "h0,h1", "--host-name", "h0", "--workers", "2",
                "--stock", "100000", "--strategy", "lua", "--rate", "300", "--duration", "2s", "--join-timeout", "60s",
                "--json", "--quiet",
            ])
        let joiner = try network.start(
            host: 1,
            [
                "join", "--redis", network.url(host: 1), "--host-name", "h1", "--workers", "2", "--join-timeout", "60s",
                "--quiet",
            ])
        let results = [coordinator, joiner].map { $0.finish(timeout: .seconds(120)) }
        for result in results { #expect(result.exitCode == 0, "\(result.stderr)") }
        let report = try results[0].report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.workers == 4)
        let open = try #require(report.openLoop)
        #expect(open.targetRate == 300)
        // 2 s at 300/s in all: about 600 orders (a slow start places fewer), not 1,200.
        #expect(open.ordersPlaced >= 250 && open.ordersPlaced <= 780, "\(open.ordersPlaced)")
        #expect(report.sold == Int64(open.ordersPlaced))
        let rows = try #require(report.hosts)
        #expect(rows.map(\.name).sorted() == ["h0", "h1"])
        for row in rows {
            // Each host's half: about 300 orders in 2 s.
            #expect(row.acknowledgedOrders >= 100 && row.acknowledgedOrders <= 390, "\(row.name): \(row)")
        }
        try expectIntervalsSum(report)
    }

    @Test(arguments: [
        (["--rate", "0", "--duration", "1s"], "--rate '0' is not a positive number"),
        (["--rate", "abc", "--duration", "1s"], "--rate 'abc' is not a positive number"),
        (["--rate", "10", "--duration", "1s", "--arrival", "foo"], "--arrival 'foo' is not an arrival process"),
        (["--rate", "10"], "--rate needs a bound"),
        (["--arrival", "poisson"], "add --rate R or drop --arrival"),
        (["--hdr-out", ""], "--hdr-out needs a path prefix"),
    ])
    func badOpenLoopInputExits64WithOneLine(arguments: [String], message: String) throws {
        let result = try StocksimCLI.run(["run", "--quiet"] + arguments)
        #expect(result.exitCode == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    /// Every second's rows add up to the run's totals, and the seconds run from 0 without a gap.
    private func expectIntervalsSum(_ report: SimulationReport) throws {
        let intervals = try #require(report.intervals)
        #expect(!intervals.isEmpty)
        #expect(intervals.map(\.second) == Array(0..<intervals.count))
        #expect(intervals.map(\.orders).reduce(0, +) == report.acknowledgedOrders)
        #expect(intervals.map(\.units).reduce(0, +) == report.acknowledged)
        #expect(intervals.map(\.conflicts).reduce(0, +) == report.conflicts)
        #expect(intervals.map(\.refusals).reduce(0, +) == report.rejectedOrders)
        #expect(intervals.allSatisfy { $0.orders == 0 || $0.p99Us >= $0.p50Us })
    }

    /// HdrHistogram's percentile text: the column header, lines of value, percentile, total count and 1/(1-p), and
    /// the footer's total count.
    private func expectHgrm(_ path: String, count: Int) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        let header = try #require(lines.first).split(separator: " ")
        #expect(header == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"])
        let rows = lines.dropFirst().filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ") }
        #expect(rows.count > 3)
        #expect(rows.dropLast().allSatisfy { $0.count == 4 && $0.compactMap { Double($0) }.count == 4 })
        let percentiles = rows.compactMap { $0.count >= 2 ? Double($0[1]) : nil }
        #expect(percentiles == percentiles.sorted() && percentiles.last == 1)
        #expect(rows.last.flatMap { $0.count >= 3 ? Int($0[2]) : nil } == count)
        #expect(text.contains("Total count    = \(String(repeating: " ", count: 12 - String(count).count))\(count)]"))
    }
}
