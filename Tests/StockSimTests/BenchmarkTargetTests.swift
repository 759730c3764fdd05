import Foundation
import Spawn
import StockSim
import Testing

@testable import StockSimBenchmark

/// The benchmark's option parsing and its verdicts on fixed figures: no run, no clock.
@Suite("stocksim-benchmark: options and target verdicts")
struct BenchmarkTargetTests {
    static let watch = Report.watch
    static let plain = Report.watchNoLedger
    static let lua = Report.lua
    static let luaPlain = Report.luaNoLedger
    static let cWatch = Contender.cLoop(.plain)
    static let cBackoff = Contender.cLoop(.backoff)
    static let cLua = Contender.cLoop(.lua)

    func report(_ figures: [Contender: [Int: [Double]]], workers: [Int], hasCLoop: Bool = true) -> Report {
        var measurements = Measurements()
        for (contender, byCount) in figures {
            for (count, rates) in byCount { measurements.record(rates: rates, for: contender, workers: count) }
        }
        return Report(
            measurements: measurements, workers: workers, hasCLoop: hasCLoop, hasRedisPy: false, stock: 1000,
            redisPyReducedStock: [:])
    }

    func line(_ targets: [Report.Target], _ prefix: String) -> Report.Target? {
        targets.first { $0.line.hasPrefix(prefix) }
    }

    @Test("--watch-ahead has a table of its own, over the default and the better C loop, and no target")
    func watchAheadIsShownWithoutATarget() {
        let figures: [Contender: [Int: [Double]]] = [
            Report.watchAhead: [4: [40_000, 44_000, 48_000]], Self.plain: [4: [20_000, 22_000, 24_000]],
            Self.cWatch: [4: [10_000, 11_000, 12_000]], Self.cBackoff: [4: [15_000, 16_000, 17_000]],
        ]
        let report = report(figures, workers: [4])
        let table = report.tables.components(separatedBy: "\n\n").first {
            $0.hasPrefix("watch --no-ledger --watch-ahead")
        }
        let row = table?.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("4 ") }
        #expect(row?.contains("44,000") == true, "\(report.tables)")
        #expect(row?.contains("2.00×") == true, "over the default's 22,000: \(report.tables)")
        #expect(row?.contains("2.75×") == true, "over the better C loop's 16,000: \(report.tables)")
        #expect(!report.targets.contains { $0.line.contains("--watch-ahead") })
        #expect(
            StockSimRun.arguments(url: "u", strategy: .watch, ledger: false, watchAhead: true, stock: 1, workers: 1)
                .suffix(2) == ["--no-ledger", "--watch-ahead"])
        #expect(Report.watchAhead.description == "watch --no-ledger --watch-ahead")
    }

    // MARK: options

    @Test func scalingOptions() throws {
        let defaults = try Options([])
        #expect(!defaults.scaling)
        #expect(defaults.runsScaling, "after the rounds, so that one invocation prints every target")
        #expect(defaults.scalingOrders == [10_000, 1_000_000, 5_000_000], "the issue's memory target's two counts")
        #expect(try !Options(["--no-scaling"]).runsScaling)
        #expect(try !Options(["--witness-cost"]).runsScaling)
        #expect(try Options(["--scaling"]).runsScaling)
        #expect(defaults.scalingWorkers == [10, 100, 500, 1000])
        let given = try Options(["--scaling", "--scaling-orders=1000,10,1000", "--scaling-workers", "64, 8"])
        #expect(given.scaling)
        #expect(given.scalingOrders == [10, 1000])
        #expect(given.scalingWorkers == [8, 64])
        #expect(given.workers == [1, 2, 4, 8, 16, 32, 64], "--scaling-workers leaves --workers alone")
    }

    @Test(arguments: [
        (["--scaling-orders", "0"], "--scaling-orders takes order counts from 1 to 100000000"),
        (["--scaling-orders", "1,x"], "'x' is not one"),
        (["--scaling-workers", "1025"], "--scaling-workers takes worker counts from 1 to 1024"),
        (["--scaling-workers"], "--scaling-workers needs a value"),
        (["--scaling=1"], "unknown option '--scaling=1'"),
        (["--scaling", "--no-scaling"], "--scaling runs only the scaling runs and --no-scaling leaves them out"),
    ])
    func badScalingOptions(arguments: [String], message: String) {
        #expect {
            _ = try Options(arguments)
        } throws: { error in
            (error as? UsageError)?.message.contains(message) == true
        }
    }

    @Test func settleIsAPauseInSeconds() throws {
        #expect(try Options([]).settle == .seconds(1))
        #expect(try Options(["--settle", "0"]).settle == .zero)
        #expect(try Options(["--settle=0.25"]).settle == .milliseconds(250))
        #expect(try Options(["--settle", "60"]).settle == .seconds(60))
    }

    @Test(arguments: ["-1", "60.5", "x", "nan", "inf"])
    func badSettle(value: String) {
        #expect {
            _ = try Options(["--settle", value])
        } throws: { error in
            (error as? UsageError)?.message == "--settle takes seconds from 0 to 60, like 1 or 0.5, not '\(value)'"
        }
    }

    @Test func cpusNameWhereTheProcessesRun() throws {
        #expect(try Options([]).placement == .free)
        #expect(try Options(["--cpus", "split"]).placement == .split)
        #expect(try Options(["--cpus=shared"]).placement == .shared)
        #expect {
            _ = try Options(["--cpus", "0,1"])
        } throws: { error in
            (error as? UsageError)?.message == "--cpus takes free, split or shared, not '0,1'"
        }
    }

    @Test func splitGivesTheServerTheFirstCPUAndTheContendersTheRest() throws {
        #expect(try Placement.free.cpus(allowed: [0, 1]) == nil)
        let split = try #require(try Placement.split.cpus(allowed: [2, 5, 7]))
        #expect(split.server == [2] && split.contenders == [5, 7])
        let shared = try #require(try Placement.shared.cpus(allowed: [3, 4]))
        #expect(shared.server == [3] && shared.contenders == [3])
        #expect {
            _ = try Placement.split.cpus(allowed: [4])
        } throws: { error in
            (error as? SetupFailure)?.message
                == "--cpus split needs two CPUs and this process may use only CPU 4; run with --cpus free or shared"
        }
        #expect(
            Placement.describe(split, .split)
                == "cpus: redis-server on CPU 2, every contender's processes on CPUs 5,7 (--cpus split)")
    }

    @Test func haltPollTakesNanosecondsUpToAMillisecond() throws {
        #expect(try Options([]).haltPoll == nil)
        #expect(try Options(["--halt-poll", "200000"]).haltPoll == 200_000)
        #expect(try Options(["--halt-poll=0"]).haltPoll == 0)
        #expect(try Options(["--halt-poll", "1000000"]).haltPoll == 1_000_000)
        for value in ["-1", "1000001", "200us", "x"] {
            #expect {
                _ = try Options(["--halt-poll", value])
            } throws: { error in
                (error as? UsageError)?.message
                    == "--halt-poll takes nanoseconds from 0 to 1000000, like 200000, not '\(value)'"
            }
        }
    }

    /// The window is read and written as the kernel's module parameter file holds it; here a file of the test's.
    @Test func haltPollWritesTheWindowAndHandsBackTheOneItReplaced() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("guest_halt_poll_ns", "0\n")
        #expect(HaltPolling.window(at: path) == 0)
        #expect(try HaltPolling.set(150_000, at: path) == 0)
        #expect(TextFile.read(path) == "150000\n")
        #expect(HaltPolling.window(at: path) == 150_000)
        #expect(HaltPolling.window(at: directory.path + "/absent") == nil)
        #expect {
            _ = try HaltPolling.set(1, at: directory.path + "/absent")
        } throws: { error in
            (error as? SetupFailure)?.message
                == "--halt-poll: this machine has no \(directory.path)/absent (its idle CPUs are not a haltpoll guest's); run without --halt-poll"
        }
    }

    @Test func theHeaderSaysWhatAnIdleCPUDoes() {
        #expect(
            HaltPolling.describe(window: 0, found: nil, driver: "haltpoll")
                == "cpuidle: haltpoll, guest_halt_poll_ns 0: an idle vCPU halts at once, and a round trip that must wake one pays for it (--halt-poll 200000, the kernel's default, to compare programs rather than wake-ups)"
        )
        #expect(
            HaltPolling.describe(window: 200_000, found: 0, driver: "haltpoll")
                == "cpuidle: haltpoll, guest_halt_poll_ns 200000: an idle vCPU polls up to 200 µs before it halts; set by --halt-poll for this run, 0 restored at the end"
        )
        #expect(
            HaltPolling.describe(window: 1_500, found: 1_500, driver: "haltpoll")
                == "cpuidle: haltpoll, guest_halt_poll_ns 1500: an idle vCPU polls up to 1.5 µs before it halts")
        #expect(
            HaltPolling.describe(window: nil, found: nil, driver: "intel_idle")
                == "cpuidle: intel_idle; no haltpoll window to set (--halt-poll needs a haltpoll guest)")
    }

    /// The shares say what a rate cannot: whether every worker sold, or one did while the others waited.
    @Test func workerSharesShowOneWorkerTakingTheSales() throws {
        let fair = try #require(WorkerShares(least: 2_500, most: 2_500, sold: 10_000, workers: 4))
        #expect(fair == WorkerShares(leastOverFair: 1, mostOfAll: 0.25))
        let hogged = try #require(WorkerShares(least: 3, most: 15_023, sold: 20_000, workers: 4))
        #expect(abs(hogged.leastOverFair - 0.0006) < 1e-9 && abs(hogged.mostOfAll - 0.75115) < 1e-9)
        #expect(WorkerShares(least: 0, most: 0, sold: 0, workers: 4) == nil)

        var measurements = Measurements()
        for (least, most) in [(1_000, 4_000), (2_000, 3_000), (3_000, 9_000)] {
            for contender in [Self.watch, Self.plain] {
                measurements.record(
                    Sample(
                        salesPerSecond: 10_000, sold: 20_000, workers: 4,
                        shares: WorkerShares(least: least, most: most, sold: 20_000, workers: 4)),
                    for: contender, workers: 4)
            }
        }
        #expect(measurements.shares(Self.plain, workers: 4) == WorkerShares(leastOverFair: 0.4, mostOfAll: 0.2))
        let report = Report(
            measurements: measurements, workers: [4], hasCLoop: false, hasRedisPy: false, stock: 20_000,
            redisPyReducedStock: [:])
        let rows = report.tables.split(separator: "\n").filter {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("4 ")
        }
        #expect(rows.count >= 2 && rows.prefix(2).allSatisfy { $0.contains("0.40, 20%") }, "\(report.tables)")
        #expect(report.tables.contains("least ÷ fair, most: the units of the worker that sold least"))
    }

    @Test func measuredWorkersAddOneAndTen() throws {
        #expect(try Options(["--workers", "4,2"]).measuredWorkers == [1, 2, 4, 10])
    }

    // MARK: section 1's targets

    /// StockSim ahead of the better C mode at 1 and 64 workers and behind it at 10; lua behind at 64.
    var figures: [Contender: [Int: [Double]]] {
        [
            Self.plain: [1: [10_000, 11_000, 9_000], 10: [12_000, 12_500, 11_500], 64: [14_000, 14_000, 14_000]],
            Self.watch: [1: [9_500, 9_900, 9_000], 10: [10_000, 10_500, 9_500], 64: [12_000, 12_500, 11_500]],
            Self.cWatch: [1: [9_000, 9_000, 9_000], 10: [8_000, 8_000, 8_000], 64: [1_500, 1_500, 1_500]],
            Self.cBackoff: [1: [8_000, 8_000, 8_000], 10: [13_000, 13_000, 13_000], 64: [7_000, 7_000, 7_000]],
            Self.luaPlain: [
                1: [20_000, 20_000, 20_000], 10: [80_000, 80_000, 80_000], 64: [70_000, 70_000, 70_000],
            ],
            Self.cLua: [1: [20_000, 20_000, 20_000], 10: [80_000, 80_000, 80_000], 64: [80_000, 80_000, 80_000]],
        ]
    }

    @Test func aheadOfTheBetterCModeAtEveryWorkerCount() {
        let targets = report(figures, workers: [1, 10, 64]).targets
        let one = line(targets, "1. watch --no-ledger ÷ the better C watch loop (plain or backoff), 1 worker:")
        #expect(one?.status == .pass)
        #expect(
            one?.line.contains("10,000 / 9,000 sales/s = 1.111× (the better: C watch)") == true,
            "\(String(describing: one))")
        #expect(one?.line.contains("rounds 1.000×–1.222×") == true, "\(String(describing: one))")
        let ten = line(targets, "1. watch --no-ledger ÷ the better C watch loop (plain or backoff), 10 workers:")
        #expect(ten?.status == .fail, "the backoff mode's 13,000 beats 12,000")
        #expect(ten?.line.contains("(the better: C watch+backoff)") == true)
        #expect(
            line(targets, "1. watch --no-ledger ÷ the better C watch loop (plain or backoff), 64 workers:")?.status
                == .pass)
        #expect(targets.filter { $0.line.hasPrefix("1. ") }.count == 3, "one line per worker count")
    }

    @Test func aVerdictWhoseRoundsFellOnBothSidesIsMarkedUnresolved() throws {
        let prefix = "1. watch --no-ledger ÷ the better C watch loop (plain or backoff), 1 worker:"
        let settled = try #require(line(report(figures, workers: [1, 10, 64]).targets, prefix))
        #expect(!settled.unresolved && !settled.line.contains("unresolved"), "rounds 1.000×–1.222×: \(settled.line)")
        let below = try #require(
            line(
                report(figures, workers: [1, 10, 64]).targets,
                "1. watch --no-ledger ÷ the better C watch loop (plain or backoff), 10 workers:"))
        #expect(below.status == .fail && !below.unresolved, "every round below: a settled FAIL")
        var mixed = figures
        mixed[Self.plain]?[1] = [10_000, 11_000, 8_500]
        let straddling = try #require(line(report(mixed, workers: [1, 10, 64]).targets, prefix))
        #expect(straddling.status == .pass, "the medians decide: 10,000 / 9,000")
        #expect(straddling.unresolved)
        #expect(
            straddling.line.hasSuffix("rounds 0.944×–1.222×; target ≥ 1.00× (unresolved: rounds on both sides)"),
            "\(straddling.line)")
    }

    @Test func noCollapseIsAgainstItsOwnBest() throws {
        let targets = report(figures, workers: [1, 10, 64]).targets
        // watch's best is 10,000 at 10 workers; 12,000 at 64 is above it.
        let target = try #require(
            line(targets, "2. no collapse: watch at 64 workers ÷ its best median (at 64 workers)"))
        #expect(target.status == .pass)
        var collapsed = figures
        collapsed[Self.watch]?[64] = [8_000, 8_400, 8_600]
        let failing = try #require(
            line(
                report(collapsed, workers: [1, 10, 64]).targets,
                "2. no collapse: watch at 64 workers ÷ its best median (at 10 workers)"))
        #expect(failing.status == .fail, "8,400 ÷ 10,000 = 0.84 < 0.85: \(failing.line)")
        #expect(line(report(figures, workers: [1, 10]).targets, "2. ")?.status == .skip)
    }

    @Test func bestAgainstTheCLoopsBest() throws {
        // Best watch --no-ledger: 14,000 at 64; the C loop's best: C watch+backoff's 13,000 at 10.
        let target = try #require(line(report(figures, workers: [1, 10, 64]).targets, "3. "))
        #expect(target.status == .pass)
        #expect(
            target.line.contains(
                "(at 64 workers) ÷ the C watch loop's best (C watch+backoff at 10 workers): 14,000 / 13,000"),
            "\(target.line)")
        var faster = figures
        faster[Self.cWatch]?[1] = [15_000, 15_000, 15_000]
        #expect(line(report(faster, workers: [1, 10, 64]).targets, "3. ")?.status == .fail)
    }

    @Test func luaWithinFivePercentAtEveryWorkerCount() {
        let targets = report(figures, workers: [1, 10, 64]).targets
        #expect(line(targets, "4. lua --no-ledger ÷ C lua loop, 1 worker:")?.status == .pass, "1.00× ≥ 0.95×")
        #expect(line(targets, "4. lua --no-ledger ÷ C lua loop, 10 workers:")?.status == .pass)
        #expect(line(targets, "4. lua --no-ledger ÷ C lua loop, 64 workers:")?.status == .fail, "0.875× < 0.95×")
    }

    @Test func theLedgerCostsAtMostTenPercent() {
        let targets = report(figures, workers: [1, 10, 64]).targets
        // 9,500 ÷ 10,000 = 0.95 at 1 worker; 10,000 ÷ 12,000 = 0.83 at 10.
        #expect(line(targets, "5. ledger cost: watch ÷ watch --no-ledger, 1 worker")?.status == .pass)
        #expect(line(targets, "5. ledger cost: watch ÷ watch --no-ledger, 10 workers")?.status == .fail)
        var exact = figures
        exact[Self.watch]?[1] = [9_000, 9_000, 9_000]
        exact[Self.plain]?[1] = [10_000, 10_000, 10_000]
        #expect(
            line(report(exact, workers: [1, 10]).targets, "5. ledger cost: watch ÷ watch --no-ledger, 1 worker")?.status
                == .pass, "0.90× exactly meets the target")
    }

    @Test func withoutTheCLoopItsTargetsAreSkippedOnce() {
        let targets = report(figures, workers: [1, 10, 64], hasCLoop: false).targets
        for number in ["1.", "3.", "4."] {
            let lines = targets.filter { $0.line.hasPrefix(number + " ") }
            #expect(lines.count == 1 && lines.first?.status == .skip, "\(lines)")
        }
        #expect(line(targets, "6. ")?.status == .skip)
        #expect(targets.filter { $0.status != .skip }.count == 3, "2 and both 5s: \(targets)")
    }

    @Test func bestRatioTakesEachRoundsBest() throws {
        var measurements = Measurements()
        measurements.record(rates: [10, 20], for: Self.plain, workers: 1)
        measurements.record(rates: [30, 10], for: Self.plain, workers: 2)
        measurements.record(rates: [20, 5], for: Self.cWatch, workers: 1)
        measurements.record(rates: [5, 40], for: Self.cBackoff, workers: 2)
        let best = try #require(
            measurements.bestRatio(Self.plain, overBestOf: [Self.cWatch, Self.cBackoff], at: [1, 2]))
        // Medians: mine 15 and 20, theirs 12.5 and 22.5; round 1: 30 ÷ 20, round 2: 20 ÷ 40.
        #expect(best.ratio.mine == 20 && best.ratio.theirs == 22.5 && best.workers == 2 && best.rival == Self.cBackoff)
        #expect(best.ratio.rounds?.min == 0.5 && best.ratio.rounds?.max == 1.5)
        #expect(measurements.bestRatio(Self.lua, overBestOf: [Self.cWatch], at: [1, 2]) == nil)
    }

    // MARK: section 3's targets

    func ordersRow(_ orders: Int, rss: Int, audit: Double, workerRSS: Int = 17_000_000) -> ScalingReport.OrdersRow {
        .init(
            orders: orders, saleSeconds: 1, setupAndAuditSeconds: audit, treePeakRSSBytes: rss,
            workerPeakRSSBytes: workerRSS, redisBytesPerLedgerEntry: 90)
    }

    @Test func scalingTargets() {
        let report = ScalingReport(
            orders: [
                ordersRow(10_000, rss: 30_000_000, audit: 0.2), ordersRow(1_000_000, rss: 35_000_000, audit: 1.8),
            ],
            workers: [
                .init(
                    workers: 10, spawnSeconds: 0.1, totalSeconds: 0.3, workerPeakRSSBytes: 17_000_000,
                    treePeakRSSBytes: 30_000_000),
                .init(
                    workers: 1000, spawnSeconds: 3.2, totalSeconds: 5, workerPeakRSSBytes: 19_000_000,
                    treePeakRSSBytes: 30_000_000),
            ])
        let targets = report.targets
        #expect(targets.map(\.status) == [.pass, .pass, .fail, .pass], "\(targets)")
        #expect(targets[0].line.contains("35.0 MB / 30.0 MB = 1.167×; target ≤ 1.20×"), "\(targets[0].line)")
        #expect(targets[1].line.contains("1.80 s = 1.80 s per million orders"), "\(targets[1].line)")
        #expect(targets[2].line.contains("1,000 workers spawned and connected: 3.20 s; target ≤ 3.0 s"))
        #expect(targets[3].line.contains("19.0 MB (at 1000 workers)"), "\(targets[3].line)")
        #expect(report.tables.contains("1,000,000"), "\(report.tables)")
    }

    @Test func scalingTargetsCatchGrowthAndSkipWhatWasNotMeasured() {
        let growing = ScalingReport(
            orders: [
                ordersRow(10_000, rss: 30_000_000, audit: 0.1),
                ordersRow(100_000, rss: 40_000_000, audit: 0.3, workerRSS: 21_000_000),
            ],
            workers: [], skippedWorkers: [(1000, "the open-files limit (ulimit -n) is 256")])
        let targets = growing.targets
        #expect(targets.map(\.status) == [.fail, .fail, .skip, .fail], "\(targets)")
        #expect(targets[1].line.contains("3.00 s per million"), "\(targets[1].line)")
        #expect(growing.tables.contains("1000 workers: skipped, the open-files limit (ulimit -n) is 256"))
        let empty = ScalingReport(orders: [], workers: []).targets
        #expect(empty.allSatisfy { $0.status == .skip }, "\(empty)")
    }

    @Test func workerCountsThatDoNotFitTheLimitsAreNamed() {
        #expect(Benchmark.limitProblem(workers: 1000, files: 20_000, processes: nil) == nil)
        #expect(Benchmark.limitProblem(workers: 1000, files: 1024, processes: nil)?.contains("ulimit -n") == true)
        #expect(Benchmark.limitProblem(workers: 1000, files: 20_000, processes: 500)?.contains("ulimit -u") == true)
    }
}
