import StockSim
import Testing

/// The per-sale witness: correct chains pass (one key, a cart over two, unknown outcomes that fill gaps), and each
/// kind of break is caught and names its sales — including a lost update that the totals miss.
@Suite("witness")
struct WitnessTests {
    static let key = "stock:count"

    /// A sale of `units` on `key` that left `left`.
    static func sell(
        _ witness: inout Witness, _ order: String, worker: Int, units: Int64 = 1, left: Int64, key: String = key
    ) {
        witness.recordSale(
            order: order, worker: worker, lines: [OrderLine(key: key, units: units)], stockLeft: [left])
    }

    @Test func aCorrectChainPasses() {
        var witness = Witness()
        witness.setInitial(10, for: Self.key)
        witness.setFinal(3, for: Self.key)
        // Recorded out of order, as workers finish: the witness sorts by stock left.
        Self.sell(&witness, "R:1:1", worker: 1, units: 2, left: 5)
        Self.sell(&witness, "R:0:1", worker: 0, units: 3, left: 7)
        Self.sell(&witness, "R:0:2", worker: 0, units: 2, left: 3)
        let result = witness.check()
        #expect(result.passed, "\(result.violations)")
        #expect(result.keys.count == 1)
        #expect(result.keys.first?.checked == true)
        #expect(result.keys.first?.sales == 3)
        #expect(result.keys.first?.units == 7)
    }

    @Test func aCartContributesOneLinkPerKey() {
        let a = "{s:g0}:sku:0"
        let b = "{s:g0}:sku:1"
        var witness = Witness()
        for key in [a, b] {
            witness.setInitial(5, for: key)
            witness.setFinal(1, for: key)
        }
        let cart = [OrderLine(key: a, units: 2), OrderLine(key: b, units: 1)]
        witness.recordSale(order: "R:0:1", worker: 0, lines: cart, stockLeft: [3, 4])
        Self.sell(&witness, "R:1:1", worker: 1, units: 2, left: 1, key: a)
        witness.recordSale(
            order: "R:1:2", worker: 1, lines: [OrderLine(key: b, units: 3)], stockLeft: [1])
        let result = witness.check()
        #expect(result.passed, "\(result.violations)")
        #expect(result.keys.map(\.key) == [a, b])
        #expect(result.keys.map(\.sales) == [2, 2])

        // The same cart claiming a stock left on b that another sale also claims: caught on b alone.
        witness.recordSale(order: "R:2:1", worker: 2, lines: cart, stockLeft: [0, 4])
        let broken = witness.check()
        #expect(broken.violations.contains { $0.kind == .staleRead && $0.key == b })
    }

    @Test func unknownOutcomesThatFillAGapAreExplained() {
        var witness = Witness()
        witness.setInitial(10, for: Self.key)
        witness.setFinal(0, for: Self.key)
        Self.sell(&witness, "R:0:1", worker: 0, units: 2, left: 8)
        // R:1:1 (2 units) lost its reply and did sell: 8 → 6 has no acknowledged sale.
        witness.recordUnknown(lines: [OrderLine(key: Self.key, units: 2)])
        Self.sell(&witness, "R:0:2", worker: 0, units: 3, left: 3)
        // R:1:2 lost its reply and did not sell.
        witness.recordUnknown(lines: [OrderLine(key: Self.key, units: 1)])
        // Two lost sales at the end, of mixed sizes: 3 → 0 is 1 + 2.
        witness.recordUnknown(lines: [OrderLine(key: Self.key, units: 2)])
        witness.recordUnknown(lines: [OrderLine(key: Self.key, units: 5)])
        let result = witness.check()
        #expect(result.passed, "\(result.violations)")
        #expect(result.keys.first?.unknownOrders == 4)
        #expect(result.keys.first?.unknownOrdersSold == 3)
    }

    @Test func aLostUpdateThatTheTotalsMissIsAStaleRead() {
        // From 10, two buyers read 10 and both sold 1, each told "9 left" (a lost update, as `unsafe`'s GET + SET):
        // the key holds 9. A compensating write from outside then takes 1 more, to 8. The totals balance —
        // 2 units acknowledged, 10 − 8 = 2 taken — so only the chain shows the double sale.
        var witness = Witness()
        witness.setInitial(10, for: Self.key)
        witness.setFinal(8, for: Self.key)
        Self.sell(&witness, "R:0:1", worker: 0, left: 9)
        Self.sell(&witness, "R:1:1", worker: 1, left: 9)
        let acknowledged = witness.check().keys.first?.units
        #expect(acknowledged == Int64(10 - 8), "the totals balance")
        let result = witness.check()
        #expect(!result.passed)
        #expect(result.violations.map(\.kind) == [.staleRead, .chainEnd])
        let staleRead = result.violations.first
        #expect(staleRead?.earlier == WitnessSale(order: "R:0:1", worker: 0, stockLeft: 9, units: 1))
        #expect(staleRead?.later == WitnessSale(order: "R:1:1", worker: 1, stockLeft: 9, units: 1))
        #expect(staleRead?.detail.contains("1 unit sold twice") == true, "\(String(describing: staleRead))")
    }

    @Test func aGapIsCaughtWithItsTwoSales() {
        var witness = Witness()
        witness.setInitial(10, for: Self.key)
        witness.setFinal(5, for: Self.key)
        Self.sell(&witness, "R:0:1", worker: 0, units: 2, left: 8)
        Self.sell(&witness, "R:1:1", worker: 1, units: 2, left: 5)
        // An unknown outcome of 2 units cannot fill a gap of 1.
        witness.recordUnknown(lines: [OrderLine(key: Self.key, units: 2)])
        let result = witness.check()
        #expect(result.violationCount == 1)
        let gap = result.violations.first
        #expect(gap?.kind == .gap)
        #expect(gap?.earlier == WitnessSale(order: "R:0:1", worker: 0, stockLeft: 8, units: 2))
        #expect(gap?.later == WitnessSale(order: "R:1:1", worker: 1, stockLeft: 5, units: 2))
        #expect(gap?.detail.contains("1 unit taken between") == true, "\(String(describing: gap))")
    }

    @Test func theChainsEndsAreChecked() {
        var above = Witness()
        above.setInitial(10, for: Self.key)
        Self.sell(&above, "R:0:1", worker: 0, units: 2, left: 9)
        #expect(above.check().violations.map(\.kind) == [.chainStart])
        #expect(above.check().keys.first?.note?.contains("no final stock") == true)

        var refilled = Witness()
        refilled.setInitial(10, for: Self.key)
        refilled.setFinal(9, for: Self.key)
        Self.sell(&refilled, "R:0:1", worker: 0, units: 2, left: 8)
        let end = refilled.check().violations
        #expect(end.map(\.kind) == [.chainEnd])
        #expect(end.first?.detail.contains("came back from outside") == true)

        var untouched = Witness()
        untouched.setInitial(10, for: Self.key)
        untouched.setFinal(7, for: Self.key)
        #expect(untouched.check().violations.map(\.kind) == [.chainEnd])
    }

    @Test func aSaleBelowZeroIsAnOversellEvenInAnUnbrokenChain() {
        // GET then DECRBY with no WATCH: both saw 1, both decremented; DECRBY's replies are honest, so the chain holds.
        var witness = Witness()
        witness.setInitial(1, for: Self.key)
        witness.setFinal(-1, for: Self.key)
        Self.sell(&witness, "R:0:1", worker: 0, left: 0)
        Self.sell(&witness, "R:1:1", worker: 1, left: -1)
        let result = witness.check()
        #expect(result.violations.map(\.kind) == [.oversell])
        #expect(result.violations.first?.later?.order == "R:1:1")
    }

    @Test func salesWithoutStockLeftLeaveTheKeyUnchecked() {
        var witness = Witness()
        witness.setInitial(10, for: Self.key)
        witness.recordSale(order: "R:0:1", worker: 0, lines: [OrderLine(key: Self.key, units: 1)], stockLeft: [nil])
        let result = witness.check()
        #expect(result.passed)
        #expect(result.keys.first?.checked == false)
        #expect(result.keys.first?.unplacedSales == 1)
    }

    @Test func violationsBeyondTheLimitAreCountedNotListed() {
        var witness = Witness()
        witness.setInitial(100, for: Self.key)
        for index in 0..<50 { Self.sell(&witness, "R:\(index):1", worker: index, left: 99) }
        let result = witness.check(violationLimit: 10)
        #expect(result.violations.count == 10)
        #expect(result.violationCount == 49)
    }

    @Test func aMillionSalesCheckQuickly() {
        var witness = Witness()
        let count: Int64 = 1_000_000
        witness.setInitial(count, for: Self.key)
        witness.setFinal(0, for: Self.key)
        for left in stride(from: count - 1, through: 0, by: -1) {
            Self.sell(&witness, "R:\(left % 64):\(left)", worker: Int(left % 64), left: left)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let result = witness.check()
        #expect(result.passed)
        #expect(clock.now - start < .seconds(20))
    }
}
