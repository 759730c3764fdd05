import Foundation
import StockSim
import StockSimTestSupport
import Testing

@testable import StockSimRendering

/// The table, the CSV, the JSON document and the SVG chart, from fixed figures.
@Suite("sweep output")
struct SweepOutputTests {
    @Test func tableShowsEveryPointAndTheRecommendations() {
        let table = SweepTable(SweepFixture.result()).text()
        let lines = table.split(separator: "\n").map(String.init)
        let header = lines.first { $0.hasPrefix("strategy") } ?? ""
        for column in [
            "workers", "units/s", "min–max", "conflicts", "p99 latency", "p99 retries", "redis cpu", "audits",
        ] {
            #expect(header.contains(column), "no \(column) column in: \(header)")
        }
        #expect(lines.filter { $0.hasPrefix("watch ") || $0.hasPrefix("lua ") }.count == 14)
        let luaAt8 = lines.first { $0.hasPrefix("lua") && $0.contains(" 8 ") } ?? ""
        #expect(luaAt8.contains("41.2k"))
        #expect(luaAt8.contains("40.0k–42.0k"))
        #expect(luaAt8.contains("88%"))
        #expect(luaAt8.contains("passed"))
        #expect(luaAt8.hasSuffix("← recommended"))
        #expect(lines.filter { $0.hasSuffix("← recommended") }.count == 2)
        #expect(lines.contains("  lua: 8 workers (41.2k/s, within 5% of the best 42.0k/s at 32)"))
        #expect(lines.contains("  watch: 1 worker (15.0k/s, the best median; no smaller count comes within 5%)"))
        #expect(lines.contains("audit: PASSED in every run"))
        #expect(table.contains("bottleneck"))
    }

    @Test func csvHasAHeaderAndARowPerPoint() throws {
        let csv = SweepCSV(SweepFixture.result()).text()
        let rows = csv.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        #expect(
            rows.first == [
                "strategy", "workers", "runs", "sales_per_second_median", "sales_per_second_min",
                "sales_per_second_max", "conflict_rate", "latency_p99_us", "retries_per_sale_p99", "redis_cpu_percent",
                "audits_passed", "recommended", "units_per_second_median", "orders_per_second_median", "masters",
                "rate", "achieved_rate", "corrected_latency_p99_us", "p99_target_us", "meets_p99_target",
                "highest_rate_meeting_target",
            ])
        #expect(rows.count == 15)
        #expect(rows.allSatisfy { $0.count == 21 })
        #expect(
            rows.contains([
                "lua", "8", "3", "41200.0", "39964.0", "42024.0", "0.0000", "350", "0", "87.5", "true", "true",
                "41200.0",
                "", "", "", "", "", "", "", "",
            ]))
        #expect(
            rows.contains([
                "watch", "2", "3", "11000.0", "10670.0", "11220.0", "0.3600", "350", "4", "87.5", "true", "false",
                "11000.0",
                "", "", "", "", "", "", "", "",
            ]))
        #expect(rows.filter { $0[11] == "true" }.count == 2)
    }

    @Test func csvLeavesTheFiguresOfAnIncompletePointEmpty() {
        let configuration = SweepConfiguration(workerCounts: [1], strategies: [.lua], repeats: 1)
        let result = SweepResult(
            parameters: SweepParameters(configuration), redis: "r", embedded: true,
            points: [SweepPoint(strategy: .lua, workers: 1, aggregate: nil)], completed: false,
            incompleteReason: "a worker stopped")
        #expect(SweepCSV(result).text().split(separator: "\n").last == "lua,1,0,,,,,,,,true,false,,,,,,,,,")
        #expect(SweepTable(result).text().contains("incomplete: a worker stopped"))
    }

    @Test func jsonHasTheDocumentedFields() throws {
        let data = try SweepFixture.result().json()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for field in [
            "schema_version", "parameters", "redis", "embedded", "points", "recommendations", "audits_passed",
            "completed", "interrupted", "elapsed_seconds",
        ] {
            #expect(object[field] != nil, "missing \(field)")
        }
        let parameters = try #require(object["parameters"] as? [String: Any])
        #expect(parameters["worker_counts"] as? [Int] == [1, 2, 4, 8, 16, 32, 64])
        #expect(parameters["strategies"] as? [String] == ["watch", "lua"])
        #expect(parameters["repeats"] as? Int == 3)
        #expect(parameters["stock"] as? Int == 20_000)
        #expect(parameters["seed"] as? Int == 7)
        #expect(parameters["tolerance"] as? Double == 0.05)
        for field in [
            "key", "ledger", "quantity", "backoff", "backoff_wait", "connect_timeout_ms", "command_timeout_ms",
        ] {
            #expect(parameters[field] != nil, "missing parameters.\(field)")
        }
        let points = try #require(object["points"] as? [[String: Any]])
        #expect(points.count == 14)
        let point = try #require(points.first)
        for field in ["strategy", "workers", "runs", "aggregate", "audit_failures"] {
            #expect(point[field] != nil, "missing points[].\(field)")
        }
        let aggregate = try #require(point["aggregate"] as? [String: Any])
        for field in [
            "runs", "sales_per_second", "conflict_rate", "latency_p99_us", "retries_per_sale_p99", "redis_cpu_percent",
        ] {
            #expect(aggregate[field] != nil, "missing aggregate.\(field)")
        }
        let sales = try #require(aggregate["sales_per_second"] as? [String: Any])
        #expect(Set(sales.keys) == ["min", "median", "max"])
        let recommendations = try #require(object["recommendations"] as? [[String: Any]])
        #expect(recommendations.count == 2)
        let lua = try #require(recommendations.first { $0["strategy"] as? String == "lua" })
        #expect(lua["workers"] as? Int == 8)
        #expect(lua["best_workers"] as? Int == 32)
        #expect(lua["reason"] as? String == "41.2k/s, within 5% of the best 42.0k/s at 32")
        for field in ["sales_per_second", "best_sales_per_second", "tolerance"] {
            #expect(lua[field] != nil, "missing recommendations[].\(field)")
        }
        // And it reads back.
        let decoded = try SweepResult.decode(data)
        #expect(decoded.points.count == 14)
        #expect(decoded.recommendation(for: .lua)?.workers == 8)
    }

    @Test func svgIsWellFormedWithASeriesPerStrategyAndTheRecommendedPointsMarked() throws {
        let result = SweepFixture.result()
        let svg = try SVGDocument(SweepChart(result).svg())
        #expect(svg.root == "svg")
        let series = svg.elements.filter { $0.name == "g" && $0.attributes["class"] == "series" }
        #expect(series.compactMap { $0.attributes["data-strategy"] } == ["watch", "lua"])
        #expect(Set(series.compactMap { $0.attributes["stroke"] }).count == 2, "each strategy has its own colour")
        for name in ["throughput", "conflict-rate"] {
            let lines = svg.elements.filter { $0.name == "polyline" && $0.attributes["class"] == name }
            #expect(lines.count == 2, "one \(name) line per strategy")
            for line in lines {
                #expect(line.attributes["points"]?.split(separator: " ").count == 7, "a vertex per worker count")
            }
        }
        let rings = svg.elements.filter { $0.attributes["class"] == "recommended" }
        #expect(rings.count == 4, "a ring per recommendation on each panel")
        for recommendation in result.recommendations {
            let marked = rings.filter {
                $0.attributes["data-strategy"] == recommendation.strategy.rawValue
                    && $0.attributes["data-workers"] == "\(recommendation.workers)"
            }
            #expect(marked.count == 2, "\(recommendation) is not marked")
        }
        // Readable without the table: a legend, labelled axes with units, tick values.
        for label in [
            "watch", "lua", "recommended", "sales per second (units/s)", "conflicts per attempt (%)",
            "workers (processes, log₂ scale)",
        ] {
            #expect(svg.texts.contains(label), "no text '\(label)'")
        }
        for tick in ["1", "2", "4", "8", "16", "32", "64", "0", "10k", "50k", "0%", "20%", "100%"] {
            #expect(svg.texts.contains(tick), "no tick '\(tick)'")
        }
        #expect(svg.elements.filter { $0.attributes["class"] == "audit-failed" }.isEmpty)
    }

    @Test func svgMarksFailedAuditsAndEscapesText() throws {
        let configuration = SweepConfiguration(
            workerCounts: [2], strategies: [.unsafe], repeats: 1,
            base: SimulationConfiguration(key: "stock:<&\"'>", initialStock: 100))
        let result = SweepResult(
            parameters: SweepParameters(configuration), redis: "r", embedded: true,
            points: [SweepFixture.point(.unsafe, 2, 9_000, auditFailures: 1)])
        let svg = try SVGDocument(SweepChart(result).svg())
        #expect(svg.elements.filter { $0.attributes["class"] == "audit-failed" }.count == 1)
        #expect(svg.elements.filter { $0.attributes["class"] == "recommended" }.isEmpty)
        #expect(svg.texts.contains { $0.contains("stock:<&\"'>") })
        #expect(svg.texts.contains("audit failed"))
    }

    @Test func theXMLCheckCatchesABrokenDocument() {
        #expect(throws: (any Error).self) {
            try SVGDocument(#"<svg xmlns="http://www.w3.org/2000/svg"><text>a & b</text></svg>"#)
        }
        #expect(throws: (any Error).self) { try SVGDocument(#"<svg xmlns="http://www.w3.org/2000/svg"><g></svg>"#) }
    }

    @Test func axesEndOnRoundNumbers() {
        #expect(SweepChart.niceAxis(max: 42_000, floor: 1) == .init(top: 50_000, step: 10_000))
        #expect(SweepChart.niceAxis(max: 58, floor: 1, ceiling: 100) == .init(top: 60, step: 10))
        #expect(SweepChart.niceAxis(max: 0, floor: 1, ceiling: 100) == .init(top: 1, step: 0.2))
        #expect(SweepChart.niceAxis(max: 99, floor: 1, ceiling: 100) == .init(top: 100, step: 20))
        #expect(SweepChart.niceAxis(max: 11_500, floor: 1) == .init(top: 12_000, step: 2_000))
        #expect(SweepChart.niceAxis(max: 61_100, floor: 1) == .init(top: 70_000, step: 10_000))
        #expect(SweepChart.niceAxis(max: 60_000, floor: 1) == .init(top: 60_000, step: 10_000))
        #expect(SweepChart.rateLabel(12_500) == "12.5k")
        #expect(SweepChart.rateLabel(1_250) == "1.25k")
        #expect(SweepChart.rateLabel(2_000_000) == "2M")
    }
}
