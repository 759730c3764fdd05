import Foundation
import Testing

@testable import StockSim

/// Issue 10, class 7: a count and its noun agree, 1 against many, wherever people read them — through the one
/// helper, `NumberText.count`.
@Suite("plurals")
struct PluralTests {
    func evidence(
        final: Int64 = 0, ledger: LedgerContents, acknowledged: Int, rejected: Int = 0, dead: Int = 0,
        orders: Int? = nil
    ) throws -> Audit.Evidence {
        Audit.Evidence(
            initialStock: 100, finalStock: final, ledger: ledger, acknowledgedUnits: acknowledged,
            acknowledgedOrders: acknowledged, rejectedOrders: rejected, deadWorkers: dead,
            quantity: try Quantity(1...1),
            ordersLimit: orders, demandCutShort: false)
    }

    func words(_ evidence: Audit.Evidence) -> String {
        let result = Audit.check(evidence)
        return (result.violations.map(\.detail) + result.notes).joined(separator: "\n")
    }

    @Test func theHelper() {
        #expect(NumberText.count(1, "unit") == "1 unit")
        #expect(NumberText.count(Int64(1), "SKU") == "1 SKU")
        #expect(NumberText.count(Int64(-1), "unit") == "-1 units")
        #expect(NumberText.count(0, "worker") == "0 workers")
        #expect(NumberText.count(1, "entry", plural: "entries") == "1 entry")
        #expect(NumberText.count(3, "entry", plural: "entries") == "3 entries")
    }

    @Test func deadWorkersSales() throws {
        let one = words(
            try evidence(
                ledger: LedgerContents(orders: 100, units: 100, writes: 100, malformed: 0), acknowledged: 99, dead: 1))
        #expect(one.contains("the ledger holds 1 unit that no worker acknowledged: sales of 1 dead worker,"), "\(one)")
        let many = words(
            try evidence(
                ledger: LedgerContents(orders: 100, units: 100, writes: 100, malformed: 0), acknowledged: 97, dead: 2))
        #expect(
            many.contains("the ledger holds 3 units that no worker acknowledged: sales of 2 dead workers,"), "\(many)")
    }

    @Test func ledgerEntries() throws {
        let removed = words(
            try evidence(ledger: LedgerContents(orders: 99, units: 99, writes: 100, malformed: 0), acknowledged: 100))
        #expect(removed.contains("1 entry removed by another client"), "\(removed)")
        #expect(removed.contains("the ledger holds 99 entries but the workers acknowledged 100 orders (100 entries)"))
        let twice = words(
            try evidence(
                final: 1, ledger: LedgerContents(orders: 99, units: 99, writes: 100, malformed: 0), acknowledged: 99))
        #expect(
            twice.contains("1 ledger entry recorded more than once (100 ledger writes for 99 distinct entries)"),
            "\(twice)")
    }

    @Test func refusedOrdersAndCarts() throws {
        let refused = LedgerContents(orders: 40, units: 40, writes: 40, malformed: 0)
        let one = words(try evidence(final: 60, ledger: refused, acknowledged: 40, rejected: 1, orders: 50))
        #expect(one.contains("1 order refused as out of stock"), "\(one)")
        #expect(one.contains("enough for an order of 1 SKU × 1"), "\(one)")
        let many = words(try evidence(final: 60, ledger: refused, acknowledged: 40, rejected: 10, orders: 50))
        #expect(many.contains("10 orders refused as out of stock"), "\(many)")
    }

    @Test func lostSales() throws {
        let ledger = LedgerContents(orders: 100, units: 100, writes: 100, malformed: 0)
        let one = words(try evidence(ledger: ledger, acknowledged: 101))
        #expect(
            one.contains("workers acknowledged 101 units but the ledger holds 100: 1 acknowledged unit not recorded"),
            "\(one)")
        let unacknowledged = words(try evidence(ledger: ledger, acknowledged: 99))
        #expect(unacknowledged.contains("1 unit sold and never acknowledged"), "\(unacknowledged)")
    }

    @Test func faultsAndWitnessSales() {
        let fault = InjectedFault(kind: "kill-worker", atSeconds: 0.5, atUnits: 1, plannedAtUnits: 1, detail: "SIGKILL")
        #expect(fault.description == "kill-worker at 500 ms (1 unit sold): SIGKILL")
        var many = fault
        many.atUnits = 2
        #expect(many.description.contains("(2 units sold)"))
        #expect(
            WitnessSale(order: "R:0:1", worker: 0, stockLeft: 4, units: 1).description
                == "R:0:1 (worker 0, 1 unit, left 4)")
    }

    @Test func aCatalogTooSmallForACart() {
        #expect(throws: ConfigurationError.self) {
            try SimulationConfiguration(initialStock: 5, skus: 2, groups: 2, cartSize: 2).validate()
        }
        do {
            try SimulationConfiguration(initialStock: 5, skus: 2, groups: 2, cartSize: 2).validate()
        } catch {
            #expect("\(error)".contains("larger than the 1 SKU of a group"), "\(error)")
        }
    }

    /// No message in the sources puts a count before a plural noun by hand: `"\(n) units"` reads "1 units" when n is
    /// one. Each goes through `NumberText.count`; the few lines below are counts that are never one or no counts.
    @Test func noCountIsPluralisedByHand() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let nouns = [
            "units", "workers", "orders", "sales", "hosts", "keys", "SKUs", "groups", "entries", "violations", "runs",
            "repeats", "points", "masters", "replies", "records", "lines", "faults", "slots", "descriptors", "attempts",
            "conflicts", "reconnects", "redirects", "writes", "times", "rounds",
        ]
        let byHand = try Regex(#"\\\((?:[^()]|\([^()]*\))*\) (?:"# + nouns.joined(separator: "|") + #")\b(?!/s)"#)
        let either = try Regex(#"[A-Za-z]\(s\)[^"]*"|== 1 \? "" : "s""#)
        // Not counts of the noun that follows, or a count of a whole that is never one.
        let allowed = [
            "knows \\(lines.count) of \\(nodes.count) nodes",  // "1 of 3 nodes": the noun belongs to the whole
            "\\(host):\\(port) runs in",  // a verb
            "joined(separator: \", \")) masters",  // a list of two or more counts (one is NumberText.count's)
            "embedded clusters of \\(counts.map",  // a list of several master counts (one count reads "cluster, N")
        ]
        var found: [String] = []
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String } ?? []
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                guard !code.hasPrefix("//"), !allowed.contains(where: { code.contains($0) }) else { continue }
                if code.contains(byHand) || code.contains(either) { found.append("\(file):\(number + 1): \(code)") }
            }
        }
        #expect(found.isEmpty, "counts pluralised by hand:\n\(found.joined(separator: "\n"))")
        // And the check sees one.
        #expect(#"throw Failure("\(waiting) workers did not connect")"#.contains(byHand))
        #expect(#"notes.append("sales of the \(dead) dead worker(s)")"#.contains(either))
    }
}
