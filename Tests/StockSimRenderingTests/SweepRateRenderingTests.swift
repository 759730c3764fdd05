import Foundation
import StockSim
import StockSimTestSupport
import Testing

@testable import StockSimRendering

/// A sweep over open-loop rates with a p99 target (`--rate LIST --p99-target MS`) in the table, the CSV, the JSON
/// document and the chart, from fixed figures: one place where every rate met the target, one where some did, one
/// where none did.
@Suite("sweep over rates, output")
struct SweepRateRenderingTests {
    /// Corrected p99s in microseconds at 500, 1,000 and 2,000 orders/s, against a 2 ms target.
    static let p99s: [(Strategy, Int, [Double])] = [
        (.lua, 1, [300, 800, 1_500]),  // every rate met it
        (.lua, 2, [500, 1_900, 9_000]),  // 1,000/s is the highest that met it
        (.watch, 1, [2_500, 4_000, 30_000]),  // none did
        (.watch, 2, [1_200, 3_000, 1_800]),  // 2,000/s met it after 1,000/s missed
    ]
    static let rates = [500.0, 1_000, 2_000]

    static func result() -> SweepResult {
        var configuration = SweepConfiguration(
            workerCounts: [1, 2], strategies: [.lua, .watch], repeats: 1,
            base: SimulationConfiguration(initialStock: 100_000, seed: 7, durationMilliseconds: 1_000))
        configuration.rates = rates
        configuration.arrival = .poisson
        configuration.p99TargetMicroseconds = 2_000
        var points: [SweepPoint] = []
        for (strategy, workers, p99s) in p99s {
            for (rate, p99) in zip(rates, p99s) {
                points.append(
                    SweepPoint(
                        strategy: strategy, workers: workers, rate: rate,
                        aggregate: SweepAggregate(
                            runs: 1, salesPerSecond: SweepSpread(min: rate, median: rate, max: rate),
                            conflictRate: 0, latencyP99Us: p99 / 3, retriesPerSaleP99: 0, redisCpuPercent: 20,
                            ordersPerSecond: SweepSpread(min: rate, median: rate, max: rate),
                            correctedLatencyP99Us: p99, achievedRate: rate * 0.99)))
            }
        }
        return SweepResult(
            parameters: SweepParameters(configuration), redis: "redis://127.0.0.1:6379", embedded: true,
            points: points, elapsedSeconds: 14)
    }

    @Test func theFindingsAreTheHighestRatesThatMetTheTarget() throws {
        let result = Self.result()
        let findings = try #require(result.rateFindings)
        #expect(findings.count == 4)
        let lua1 = try #require(result.rateFinding(for: .lua, workers: 1))
        #expect(lua1.verdict == .everyMet && lua1.highestRate == 2_000 && lua1.missedRate == nil)
        let lua2 = try #require(result.rateFinding(for: .lua, workers: 2))
        #expect(lua2.verdict == .met && lua2.highestRate == 1_000 && lua2.highestRateP99Us == 1_900)
        #expect(lua2.missedRate == 2_000 && lua2.missedRateP99Us == 9_000)
        let watch1 = try #require(result.rateFinding(for: .watch, workers: 1))
        #expect(watch1.verdict == .noneMet && watch1.highestRate == nil && watch1.missedRate == 500)
        let watch2 = try #require(result.rateFinding(for: .watch, workers: 2))
        #expect(watch2.verdict == .met && watch2.highestRate == 2_000 && watch2.ratesMissed == [1_000])
    }

    @Test func theTableShowsEveryRateAndEveryFinding() {
        let table = SweepTable(Self.result()).text()
        let lines = table.split(separator: "\n").map(String.init)
        let header = lines.first { $0.hasPrefix("strategy") } ?? ""
        for column in ["rate", "placed/s", "p99 corrected", "target", "p99 latency"] {
            #expect(header.contains(column), "no \(column) column in: \(header)")
        }
        #expect(lines.first?.contains("at 500, 1.00k, 2.00k orders/s (poisson)") == true, "\(lines.first ?? "")")
        #expect(lines.filter { $0.hasPrefix("lua ") || $0.hasPrefix("watch ") }.count == 12)
        let lua2At1000 = lines.first { $0.hasPrefix("lua") && $0.contains(" 2 ") && $0.contains("1.00k/s") } ?? ""
        #expect(lua2At1000.contains("1.90 ms") && lua2At1000.contains(" met "), "\(lua2At1000)")
        #expect(lua2At1000.hasSuffix("highest rate under target"), "\(lua2At1000)")
        let lua2At2000 = lines.first { $0.hasPrefix("lua") && $0.contains(" 2 ") && $0.contains("2.00k/s") } ?? ""
        #expect(lua2At2000.contains("9.00 ms") && lua2At2000.contains("missed"), "\(lua2At2000)")
        #expect(lines.filter { $0.hasSuffix("highest rate under target") }.count == 3)
        #expect(lines.contains("highest rate whose corrected p99 meets 2.00 ms (per strategy and worker count):"))
        #expect(lines.contains("  lua at 1 worker: every rate met it (2.00k/s: p99 1.50 ms); try higher rates"))
        #expect(lines.contains("  lua at 2 workers: 1.00k/s (p99 1.90 ms); 2.00k/s missed it (p99 9.00 ms)"))
        #expect(lines.contains("  watch at 1 worker: no rate met it (500/s: p99 2.50 ms)"))
        #expect(lines.contains("  watch at 2 workers: 2.00k/s (p99 1.80 ms)"))
        #expect(table.contains("p99 corrected from when it was due"))
    }

    @Test func aClosedLoopTableHasNoRateColumns() {
        let table = SweepTable(SweepFixture.result()).text()
        #expect(!table.contains("p99 corrected") && !table.contains("highest rate"))
    }

    @Test func theCSVHasTheRateTheCorrectedP99AndTheFindingOnEveryRow() throws {
        let rows = SweepCSV(Self.result()).text().split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let header = try #require(rows.first)
        #expect(rows.count == 13 && rows.allSatisfy { $0.count == header.count })
        func column(_ name: String) throws -> Int { try #require(header.firstIndex(of: name)) }
        let rate = try column("rate")
        let achieved = try column("achieved_rate")
        let corrected = try column("corrected_latency_p99_us")
        let target = try column("p99_target_us")
        let meets = try column("meets_p99_target")
        let highest = try column("highest_rate_meeting_target")
        let lua2 = rows.filter { $0[0] == "lua" && $0[1] == "2" }
        #expect(lua2.map { $0[rate] } == ["500", "1000", "2000"])
        #expect(lua2.map { $0[achieved] } == ["495.0", "990.0", "1980.0"])
        #expect(lua2.map { $0[corrected] } == ["500", "1900", "9000"])
        #expect(lua2.map { $0[target] } == ["2000", "2000", "2000"])
        #expect(lua2.map { $0[meets] } == ["true", "true", "false"])
        #expect(lua2.map { $0[highest] } == ["1000", "1000", "1000"])
        let watch1 = rows.filter { $0[0] == "watch" && $0[1] == "1" }
        #expect(watch1.map { $0[meets] } == ["false", "false", "false"])
        #expect(watch1.map { $0[highest] } == ["", "", ""], "no rate met it: empty")
        #expect(rows.filter { $0[0] == "lua" && $0[1] == "1" }.map { $0[highest] } == ["2000", "2000", "2000"])
    }

    @Test func theJSONCarriesTheRatesTheTargetAndTheFindings() throws {
        let result = Self.result()
        let data = try result.json()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let parameters = try #require(object["parameters"] as? [String: Any])
        #expect(parameters["rates"] as? [Double] == Self.rates)
        #expect(parameters["arrival"] as? String == "poisson")
        #expect(parameters["p99_target_us"] as? Double == 2_000)
        let point = try #require((object["points"] as? [[String: Any]])?.first)
        #expect(point["rate"] as? Double == 500)
        let aggregate = try #require(point["aggregate"] as? [String: Any])
        #expect(aggregate["corrected_latency_p99_us"] as? Double == 300)
        #expect(aggregate["achieved_rate"] as? Double == 495)
        let findings = try #require(object["rate_findings"] as? [[String: Any]])
        #expect(findings.count == 4)
        let lua2 = try #require(findings.first { $0["strategy"] as? String == "lua" && $0["workers"] as? Int == 2 })
        #expect(lua2["verdict"] as? String == "met")
        #expect(lua2["highest_rate"] as? Double == 1_000)
        #expect(lua2["highest_rate_p99_us"] as? Double == 1_900)
        #expect(lua2["missed_rate"] as? Double == 2_000)
        #expect(lua2["p99_target_us"] as? Double == 2_000)
        #expect(findings.compactMap { $0["verdict"] as? String } == ["every_met", "met", "none_met", "met"])
        let decoded = try SweepResult.decode(data)
        #expect(decoded.rateFindings == result.rateFindings)
        #expect(decoded.points.map(\.rate) == result.points.map(\.rate))
    }

    @Test func theChartDrawsP99AgainstRateWithTheTargetAndTheFindings() throws {
        let result = Self.result()
        let svg = try SVGDocument(SweepChart(result).svg())
        #expect(svg.root == "svg")
        let lines = svg.elements.filter { $0.name == "polyline" && $0.attributes["class"] == "p99" }
        #expect(lines.count == 4, "a line per strategy and worker count")
        #expect(lines.allSatisfy { $0.attributes["points"]?.split(separator: " ").count == 3 }, "a vertex per rate")
        #expect(svg.elements.filter { $0.attributes["class"] == "throughput" }.isEmpty, "not the worker chart")
        let target = try #require(svg.elements.first { $0.attributes["class"] == "p99-target" })
        #expect(target.attributes["data-us"] == "2000.0")
        let targetY = try #require(target.attributes["y1"].flatMap(Double.init))
        // Every point that met the target is drawn below the line (less latency), every point that missed above.
        let points = svg.elements.filter { $0.attributes["class"] == "point" }
        #expect(points.count == 12)
        for point in points {
            let box = try #require(Box(point), "\(point.attributes)")
            let y = box.midY
            let meets = point.attributes["data-meets"]
            #expect(meets == "true" ? y > targetY : y < targetY, "\(point.attributes)")
        }
        #expect(
            points.filter { $0.attributes["data-meets"] == "false" }.allSatisfy { $0.attributes["fill"] == "white" })
        let rings = svg.elements.filter { $0.attributes["class"] == "highest-rate" }
        #expect(
            Set(
                rings.map {
                    "\($0.attributes["data-strategy"] ?? "")@\($0.attributes["data-workers"] ?? ""):\($0.attributes["data-rate"] ?? "")"
                })
                == ["lua@1:2000", "lua@2:1000", "watch@2:2000"], "a ring per finding, none where no rate met it")
        let findings = svg.elements.filter { $0.attributes["class"] == "finding" }
        #expect(findings.compactMap { $0.attributes["data-verdict"] } == ["every_met", "met", "none_met", "met"])
        for text in [
            "target 2.00 ms", "watch at 1 worker: no rate met it (500/s: p99 2.50 ms)", "500", "1.00k", "2.00k",
        ] {
            #expect(svg.texts.contains(text), "no text '\(text)'")
        }
    }

    @Test func withoutATargetTheChartHasNoTargetLineAndTheResultNoFindings() throws {
        var result = Self.result()
        result.parameters.p99TargetUs = nil
        result = SweepResult(
            parameters: result.parameters, redis: result.redis, embedded: true, points: result.points)
        #expect(result.rateFindings == nil)
        let svg = try SVGDocument(SweepChart(result).svg())
        #expect(svg.elements.filter { $0.attributes["class"] == "p99" }.count == 4)
        #expect(svg.elements.first { $0.attributes["class"] == "p99-target" } == nil)
        #expect(!SweepTable(result).text().contains("highest rate"))
    }
}
