import Foundation
import StockSimTestSupport
import Testing

@testable import StockSim

/// The recommendation: the smallest worker count whose median is within 5% of the best median.
@Suite("sweep recommendation")
struct SweepRecommendationTests {
    @Test func smallestCountWithinFivePercentOfTheBest() throws {
        let medians = Dictionary(uniqueKeysWithValues: SweepFixture.lua)
        let recommendation = try #require(SweepRecommendation.recommend(strategy: .lua, medians: medians))
        #expect(recommendation.workers == 8)
        #expect(recommendation.salesPerSecond == 41_200)
        #expect(recommendation.bestWorkers == 32)
        #expect(recommendation.bestSalesPerSecond == 42_000)
        #expect(recommendation.description == "lua: 8 workers (41.2k/s, within 5% of the best 42.0k/s at 32)")
    }

    @Test func exactlyFivePercentBelowIsWithin() throws {
        #expect(SweepRecommendation.recommend(strategy: .lua, medians: [1: 95, 2: 100])?.workers == 1)
        #expect(SweepRecommendation.recommend(strategy: .lua, medians: [1: 94.99, 2: 100])?.workers == 2)
    }

    @Test func tiesGoToTheSmallestCount() throws {
        let tied = try #require(SweepRecommendation.recommend(strategy: .decr, medians: [2: 100, 4: 100, 8: 100]))
        #expect(tied.workers == 2)
        #expect(tied.bestWorkers == 2)
        #expect(tied.reason == "100/s, the best median; no smaller count comes within 5%")
        let tiedBelowTheBest = try #require(
            SweepRecommendation.recommend(strategy: .decr, medians: [1: 50, 4: 97, 8: 97, 16: 100]))
        #expect(tiedBelowTheBest.workers == 4)
        #expect(tiedBelowTheBest.bestWorkers == 16)
    }

    @Test func theBestAtTheSmallestCount() throws {
        let recommendation = try #require(
            SweepRecommendation.recommend(strategy: .watch, medians: [1: 15_000, 2: 11_000]))
        #expect(recommendation.workers == 1)
        #expect(
            recommendation.description == "watch: 1 worker (15.0k/s, the best median; no smaller count comes within 5%)"
        )
    }

    @Test func aSinglePoint() throws {
        let recommendation = try #require(SweepRecommendation.recommend(strategy: .lua, medians: [8: 1_234]))
        #expect(recommendation.workers == 8)
        #expect(recommendation.bestWorkers == 8)
        #expect(recommendation.reason == "1.23k/s; the only worker count with figures")
        #expect(SweepRecommendation.recommend(strategy: .lua, medians: [:]) == nil)
    }

    @Test func aWiderTolerance() {
        let medians: [Int: Double] = [1: 50, 2: 91, 4: 100]
        #expect(SweepRecommendation.recommend(strategy: .lua, medians: medians)?.workers == 4)
        #expect(SweepRecommendation.recommend(strategy: .lua, medians: medians, tolerance: 0.1)?.workers == 2)
    }

    @Test func pointsThatFailedTheirAuditAreNotRecommended() throws {
        let configuration = SweepConfiguration(workerCounts: [1, 2, 4], strategies: [.unsafe, .lua], repeats: 1)
        let result = SweepResult(
            parameters: SweepParameters(configuration), redis: "r", embedded: true,
            points: [
                SweepFixture.point(.unsafe, 1, 10_000), SweepFixture.point(.unsafe, 2, 30_000, auditFailures: 1),
                SweepFixture.point(.unsafe, 4, 31_000, auditFailures: 1), SweepFixture.point(.lua, 1, 5_000),
                SweepPoint(strategy: .lua, workers: 2, aggregate: nil),
            ])
        #expect(!result.auditsPassed)
        let unsafe = try #require(result.recommendation(for: .unsafe))
        #expect(unsafe.workers == 1)
        #expect(unsafe.reason.hasSuffix("2, 4 failed the audit"))
        // A point with no completed run has no figures to recommend.
        #expect(result.recommendation(for: .lua)?.workers == 1)
        #expect(result.recommendation(for: .lua)?.reason.contains("the only worker count") == true)
    }

    @Test func medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        #expect(SweepSpread([3, 1, 2])?.median == 2)
        #expect(SweepSpread([4, 1, 3, 2])?.median == 2.5)
        #expect(SweepSpread([4, 1, 3, 2])?.min == 1)
        #expect(SweepSpread([4, 1, 3, 2])?.max == 4)
        #expect(SweepSpread([]) == nil)
    }

    @Test func redisCPUComesFromInfo() {
        let info =
            "# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.0\r\nused_cpu_user_children:9.0\r\nused_cpu_sys_main_thread:1.0\r\n"
        #expect(Sweep.redisCPUSeconds(info: info) == 3.75)
        #expect(Sweep.redisCPUSeconds(info: "# CPU\r\nused_cpu_sys:1.0\r\n") == nil)
        #expect(Sweep.cpuPercent(before: 1.0, after: 1.5, elapsed: 0.5) == 100)
        #expect(Sweep.cpuPercent(before: 1.0, after: 1.2, elapsed: 0.8).map { abs($0 - 25) < 1e-9 } == true)
        #expect(Sweep.cpuPercent(before: nil, after: 1.5, elapsed: 0.5) == nil)
        #expect(Sweep.cpuPercent(before: 1.0, after: 1.5, elapsed: 0) == nil)
    }
}
