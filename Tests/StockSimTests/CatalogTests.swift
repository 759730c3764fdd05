import Foundation
import Hiredis
import Testing

@testable import StockSim

/// Many SKUs and carts: key layout, demand skew, the per-SKU audit with partial-cart, and end-to-end runs.
@Suite("catalog")
struct CatalogTests {
    @Test func eachGroupsKeysShareAHashTag() {
        let layout = CatalogLayout(key: "stock:count", skus: 6, groups: 3)
        #expect(layout.skus(in: 1) == [1, 4])
        #expect(layout.stockKey(4) == "{stock:count:g1}:sku:4")
        #expect(layout.ledgerKey(group: 1) == "{stock:count:g1}:ledger")
        #expect(layout.runKey(group: 1) == "{stock:count:g1}:run")
        for sku in 0..<6 {
            let tag = layout.stockKey(sku).prefix { $0 != "}" }
            #expect(layout.ledgerKey(group: layout.group(of: sku)).hasPrefix(tag))
        }
    }

    @Test func skewDrawsDistinctSKUsAndZipfFavoursTheHead() throws {
        var random = SplitMix64(seed: 3)
        let candidates = Array(0..<10)
        for _ in 0..<100 {
            let cart = Skew.uniform.draw(4, from: candidates, using: &random)
            #expect(Set(cart).count == 4)
        }
        var counts = [Int](repeating: 0, count: 10)
        let zipf = try Skew(parsing: "zipf:1.5")
        for _ in 0..<5000 { counts[zipf.draw(1, from: candidates, using: &random)[0]] += 1 }
        #expect(counts[0] > counts[1] && counts[1] > counts[4] && counts[4] > counts[9])
        #expect(throws: ConfigurationError.self) { try Skew(parsing: "zipf:0") }
        #expect(throws: ConfigurationError.self) { try Skew(parsing: "pareto") }
    }

    func evidence(
        finals: [Int64?], ledgerUnits: [Int], partial: [String] = [], acknowledged: [Int]? = nil, cartSize: Int = 2,
        writes: Int? = nil
    ) throws -> Audit.Evidence {
        let fields = ledgerUnits.reduce(0, +) / 10
        let ledger = LedgerContents(
            unitsBySKU: ledgerUnits, orders: fields / cartSize, fields: fields, writes: writes ?? fields,
            partialOrders: partial, malformed: 0)
        return Audit.Evidence(
            layout: CatalogLayout(key: "k", skus: 4, groups: 2), initialStock: 100, finalStock: finals, ledger: ledger,
            acknowledgedBySKU: acknowledged ?? ledgerUnits, acknowledgedOrders: ledger.orders, rejectedOrders: 3,
            deadWorkers: 0, quantity: try Quantity(10...10),
            cartSize: cartSize, ordersLimit: nil, demandCutShort: false)
    }

    @Test func catalogAuditPassesACleanRun() throws {
        // Each group has one SKU left with stock: not enough for a cart of two.
        let result = Audit.check(try evidence(finals: [0, 0, 50, 30], ledgerUnits: [100, 100, 50, 70]))
        #expect(result.passed, "\(result.violations)")
    }

    @Test func catalogAuditNamesEachKind() throws {
        let kinds = { (e: Audit.Evidence) in Set(Audit.check(e).violations.map(\.kind)) }
        #expect(
            kinds(try evidence(finals: [0, 0, 50, 30], ledgerUnits: [100, 100, 50, 70], partial: ["r:1:7"])) == [
                .partialCart
            ])
        #expect(
            kinds(try evidence(finals: [0, 0, 50, 30], ledgerUnits: [130, 100, 50, 70])) == [.oversell, .conservation])
        #expect(
            kinds(try evidence(finals: [-5, 0, 50, 30], ledgerUnits: [105, 100, 50, 70])).contains(.negativeStock))
        #expect(
            kinds(try evidence(finals: [0, 0, 50, 30], ledgerUnits: [100, 100, 50, 70], writes: 40)) == [
                .duplicateOrder
            ])
        #expect(
            kinds(
                try evidence(
                    finals: [0, 0, 50, 30], ledgerUnits: [100, 100, 50, 70], acknowledged: [100, 90, 50, 70])) == [
                    .lostSale
                ])
        // Group 0 (SKUs 0 and 2) still has two SKUs with stock: a cart of two could have been filled.
        #expect(kinds(try evidence(finals: [20, 0, 50, 30], ledgerUnits: [80, 100, 50, 70])) == [.stuckStock])
        let detail = Audit.check(
            try evidence(finals: [0, 0, 50, 30], ledgerUnits: [100, 100, 50, 70], partial: ["r:1:7"]))
        #expect(detail.violations.first?.detail.contains("r:1:7") == true)
    }

    @Test(arguments: [Strategy.watch, .lua, .decr])
    func cartRunsPassTheAudit(strategy: Strategy) throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "300", "--skus", "6", "--groups", "2", "--cart-size", "2", "--skew", "zipf:1.1",
            "--workers", "4", "--strategy", strategy.rawValue, "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        let skus = try #require(report.skus)
        #expect(skus.count == 6)
        #expect(report.cartSize == 2)
        #expect(report.stock.initial == 1800)
        #expect(skus.allSatisfy { $0.sold + ($0.final ?? 0) == 300 })
        // Every cart took two SKUs: units sold are twice the orders.
        #expect(report.sold == Int64(report.orders * 2))
        // Sold out but for at most one SKU per group (a cart needs two).
        for group in 0..<2 {
            #expect(skus.filter { $0.group == group && ($0.final ?? 0) > 0 }.count <= 1)
        }
        #expect(skus.allSatisfy { $0.key.hasPrefix("{stock:count:g\($0.group)}:sku:") })
    }

    @Test(arguments: [Strategy.watch, .lua, .decr])
    func multiSKURunsWithoutCartsPassTheAudit(strategy: Strategy) throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "200", "--skus", "5", "--workers", "3", "--strategy", strategy.rawValue, "--json",
            "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.stock.final == 0)
        #expect(report.sold == 1000)
    }

    @Test func unsafeCartRunIsCaught() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "300", "--skus", "4", "--cart-size", "2", "--workers", "8", "--strategy", "unsafe",
            "--json", "--quiet",
        ])
        #expect(result.exitCode == 1)
        let kinds = Set(try result.report().audit.violations.map(\.kind))
        #expect(kinds.contains(.oversell) || kinds.contains(.conservation))
    }

    @Test(arguments: [
        (["--skus", "2", "--cart-size", "3"], "larger than --skus 2"),
        (["--skus", "6", "--groups", "3", "--cart-size", "3"], "larger than the 2 SKUs of a group"),
        (["--skus", "2", "--groups", "3"], "groups must be from 1 to the number of SKUs"),
        (["--skew", "zipf:-1"], "skew 'zipf:-1'"),
        (["--skus", "3", "--keep-stock"], "--keep-stock works with a single stock key"),
    ])
    func badCatalogInput(arguments: [String], message: String) throws {
        let result = try StocksimCLI.run(["run", "--quiet"] + arguments)
        #expect(result.exitCode == 64)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
