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
        let outcomes = (0..<3).map { worker in
            var report = WorkerReport(index: worker)
            report.intervals = (0..<4).map { second in
                var histogram = Histogram<UInt64>.saleLatency()
                for value in 0..<50 { histogram.record(UInt64(100 * (worker + 1) + value * (second + 1))) }
                for value in histogram.recordedValues() {
                    all[second, default: .saleLatency()].record(value.value, count: value.count)
                }
                return WorkerInterval(second: second, orders: 50, units: 50, latency: HistogramCounts(histogram))
            }
            return WorkerOutcome(
                index: worker, pid: 0, report: report, termination: .exited(0), peakRSSBytes: 0,
                lastProgress: WorkerProgress(), failure: nil)
        }
        let tally = WorkerTally(outcomes, skus: 1)
        for second in 0..<4 {
            let expected = all[second] ?? .saleLatency()
            #expect(tally.intervals[second]?.orders == 150)
            #expect(tally.intervals[second]?.p50Us == expected.valueAtPercentile(50))
            #expect(tally.intervals[second]?.p99Us == expected.valueAtPercentile(99))
        }
    }
}
