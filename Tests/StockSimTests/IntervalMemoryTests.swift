import Foundation
import Histogram
import Spawn
import Testing

@testable import StockSim

/// What the workers' seconds (`intervals[]`) cost: a flat histogram encoding, and one histogram at a time in the
/// driver, with the percentiles a histogram per second would give.
@Suite("intervals without per-second histograms")
struct IntervalMemoryTests {
    @Test func countsTravelFlatAndStillReadNested() throws {
        let counts = HistogramCounts(pairs: [[120, 3], [480, 1]])
        let encoded = try JSONEncoder().encode(counts)
        #expect(String(decoding: encoded, as: UTF8.self) == "[120,3,480,1]")
        #expect(try JSONDecoder().decode(HistogramCounts.self, from: encoded) == counts)
        let nested = try JSONDecoder().decode(HistogramCounts.self, from: Data("[[120,3],[480,1]]".utf8))
        #expect(nested == counts && nested.pairs == [[120, 3], [480, 1]])
    }

    @Test func eachSecondsPercentilesAreThoseOfItsWorkersHistogramsAddedUp() {
        var all: [Int: Histogram<UInt64>] = [:]
        let tally = IntervalTally()
        for worker in 0..<3 { tally.expect(.worker(worker)) }
        // Second by second, every worker in turn, as the pool would hear them.
        for second in 0..<4 {
            for worker in 0..<3 {
                var histogram = Histogram<UInt64>.saleLatency()
                for value in 0..<50 { histogram.record(UInt64(100 * (worker + 1) + value * (second + 1))) }
                for value in histogram.recordedValues() {
                    all[second, default: .saleLatency()].record(value.value, count: value.count)
                }
                tally.add(
                    WorkerInterval(second: second, orders: 50, units: 50, latency: HistogramCounts(histogram)),
                    from: .worker(worker))
            }
        }
        let rows = tally.rows()
        #expect(rows.map(\.second) == [0, 1, 2, 3])
        for second in 0..<4 {
            let expected = all[second] ?? .saleLatency()
            #expect(rows[second].orders == 150)
            #expect(rows[second].p50Us == expected.valueAtPercentile(50))
            #expect(rows[second].p99Us == expected.valueAtPercentile(99))
        }
    }

    @Test func aClosedLoopWorkerKeepsNoCorrectedHistogramAndAnOpenLoopOneTakesEverySale() {
        let order = Order(id: "", units: 1, skus: [0], group: 0)
        let timing = OrderTiming(due: 1_000_000, sent: 3_000_000, ended: 5_000_000)
        for openLoop in [false, true] {
            var histograms = SaleHistograms(openLoop: openLoop, intervalsFrom: 0)
            #expect(histograms.openLoop == openLoop)
            #expect((histograms.corrected != nil) == openLoop, "a closed loop allocates no corrected histogram")
            var report = WorkerReport(index: 0)
            report.unitsBySKU = [0]
            for _ in 0..<3 {
                _ = report.record(.sold(attempts: 1, conflicts: 0), of: order, timing: timing, into: &histograms)
            }
            #expect(histograms.latency.totalCount == 3)
            #expect(histograms.corrected?.totalCount == (openLoop ? 3 : nil))
            // From the due time: 4 ms, against 2 ms from the send.
            #expect(histograms.corrected.map { $0.valueAtPercentile(50) >= 3_990 } ?? true)
        }
    }

    /// One worker's second, with `orders` sales of latency `latency`.
    private func second(_ second: Int, orders: Int, latency: UInt64) -> WorkerInterval {
        var histogram = Histogram<UInt64>.saleLatency()
        histogram.record(latency, count: UInt64(orders))
        return WorkerInterval(second: second, orders: orders, units: orders, latency: HistogramCounts(histogram))
    }

    @Test func aSecondIsFoldedOnceEveryLiveWorkerHasMovedPastItAndItsCountsAreLetGo() {
        let tally = IntervalTally()
        for worker in 0..<2 { tally.expect(.worker(worker)) }
        // A long run: what the tally holds stays the lag between the workers, never the seconds so far.
        for second in 0..<600 {
            tally.add(self.second(second, orders: 3, latency: 100), from: .worker(0))
            #expect(tally.pendingSeconds == 1, "worker 1 has not sent second \(second) yet")
            tally.add(self.second(second, orders: 1, latency: 900), from: .worker(1))
            #expect(tally.pendingSeconds == 0)
        }
        let rows = tally.rows()
        #expect(rows.count == 600)
        #expect(rows.allSatisfy { $0.orders == 4 && $0.p50Us >= 99 && $0.p50Us <= 101 && $0.p99Us >= 899 })
    }

    @Test func aWorkerThatDiesKeepsWhatItSentCountedOnceAndHoldsNoSecondBack() {
        let tally = IntervalTally()
        for worker in 0..<2 { tally.expect(.worker(worker)) }
        tally.add(second(0, orders: 5, latency: 100), from: .worker(1))
        tally.add(second(0, orders: 2, latency: 100), from: .worker(0))
        tally.add(second(1, orders: 7, latency: 5_000), from: .worker(1))
        // Worker 1 dies: its seconds 0 and 1 stay; worker 0 alone decides when second 1 and 2 are complete.
        tally.end(.worker(1))
        tally.end(.worker(1))
        #expect(tally.pendingSeconds == 1, "second 1 waits for worker 0")
        tally.add(second(2, orders: 1, latency: 100), from: .worker(0))
        #expect(tally.pendingSeconds == 0)
        let rows = tally.rows()
        #expect(rows.map(\.orders) == [7, 7, 1])
        #expect(rows[1].p50Us >= 4_990 && rows[1].p50Us <= 5_010)
    }

    @Test func aJoiningHostForwardsEachCompleteSecondOnceWithItsWorkersLatenciesAddedUp() {
        let host = IntervalTally(forwards: true)
        for worker in 0..<2 { host.expect(.worker(worker)) }
        host.add(second(0, orders: 2, latency: 100), from: .worker(0))
        #expect(host.takeComplete().isEmpty)
        host.add(second(0, orders: 1, latency: 7_000), from: .worker(1))
        let forwarded = host.takeComplete()
        #expect(forwarded.map(\.second) == [0] && forwarded.map(\.orders) == [3])
        #expect(host.takeComplete().isEmpty, "a second is forwarded once")
        // The coordinator folds the host like one more worker.
        let coordinator = IntervalTally()
        coordinator.expect(.host("east"))
        for interval in forwarded { coordinator.add(interval, from: .host("east")) }
        let rows = coordinator.rows()
        #expect(rows.map(\.orders) == [3])
        #expect(rows[0].p99Us >= 6_990)
    }

    @Test func thePoolFoldsSecondsAsTheyComeAndAKilledWorkerKeepsThoseItSent() throws {
        let encoder = JSONEncoder()
        func line(_ message: WorkerMessage) throws -> String {
            String(decoding: try encoder.encode(message), as: UTF8.self)
        }
        // Stand-ins for two workers: each says ready, waits for go and sends its seconds; the first then dies by
        // SIGKILL with no report, the second reports.
        func script(_ lines: [String], thenDie: Bool) -> [String] {
            let body = lines.map { "echo '\($0)'" }.joined(separator: "; ")
            return ["-c", "read a; echo '{\"ready\":{}}'; read g; \(body); " + (thenDie ? "kill -9 $$" : "read s")]
        }
        var report = WorkerReport(index: 1)
        report.counts.progress.orders = 6
        let killed = try [
            line(.progress(WorkerProgress(units: 9, orders: 9))), line(.interval(second(0, orders: 4, latency: 100))),
            line(.interval(second(1, orders: 5, latency: 100))),
        ]
        let reporting = try [
            line(.interval(second(0, orders: 1, latency: 100))), line(.interval(second(2, orders: 5, latency: 100))),
            line(.done(report)),
        ]
        var outcomes: [WorkerOutcome] = []
        let intervals = IntervalTally()
        for (index, lines) in [(0, killed), (1, reporting)] {
            var assignment = WorkerProtocolTests.assignment
            assignment.index = index
            let pool = WorkerPool()
            try pool.start(
                executable: "/bin/sh", arguments: script(lines, thenDie: index == 0), forkServer: false,
                assignments: [assignment], readyTimeout: .seconds(5))
            outcomes += pool.run(intervals: intervals, progress: { _ in }, shouldStop: { true }).outcomes
        }
        #expect(outcomes[0].report == nil && outcomes[0].termination == .signaled(SIGKILL))
        #expect(outcomes[1].report == report)
        #expect(intervals.pendingSeconds == 0, "both workers ended: nothing is held back")
        #expect(intervals.rows().map(\.orders) == [5, 5, 5], "every second sent counted once, the dead worker's too")
    }
}
