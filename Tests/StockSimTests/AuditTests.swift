import StockSim
import Testing

/// The audit judged on fixed figures: it passes a clean run and names every kind of violation.
@Suite("Audit")
struct AuditTests {
    static let contents = LedgerContents(orders: 100, units: 100, writes: 100, malformed: 0)

    func evidence(
        initial: Int64 = 100, final: Int64? = 0, ledger: LedgerContents? = AuditTests.contents,
        acknowledged: Int = 100, rejected: Int = 4, dead: Int = 0, quantity: ClosedRange<Int> = 1...1,
        orders: Int? = nil, cut: Bool = false
    ) throws -> Audit.Evidence {
        Audit.Evidence(
            initialStock: initial, finalStock: final, ledger: ledger, acknowledgedUnits: acknowledged,
            acknowledgedOrders: ledger?.orders ?? acknowledged, rejectedOrders: rejected, deadWorkers: dead,
            quantity: try Quantity(quantity), ordersLimit: orders, demandCutShort: cut)
    }

    func kinds(_ evidence: Audit.Evidence) -> Set<AuditViolation.Kind> {
        Set(Audit.check(evidence).violations.map(\.kind))
    }

    @Test func cleanRunPasses() throws {
        let result = Audit.check(try evidence())
        #expect(result.passed)
        #expect(result.violations.isEmpty)
        #expect(result.checked == "ledger")
    }

    @Test func negativeStock() throws {
        #expect(kinds(try evidence(final: -3)).contains(.negativeStock))
    }

    @Test func oversellAndConservation() throws {
        let oversold = LedgerContents(orders: 130, units: 130, writes: 130, malformed: 0)
        let found = kinds(try evidence(ledger: oversold, acknowledged: 130))
        #expect(found == [.oversell, .conservation])
        let detail = Audit.check(try evidence(ledger: oversold, acknowledged: 130)).violations.first {
            $0.kind == .oversell
        }
        #expect(detail?.detail.contains("30 oversold") == true)
    }

    @Test func conservationAlone() throws {
        // 100 units recorded but only 90 left the stock.
        #expect(kinds(try evidence(final: 10, cut: true)) == [.conservation])
    }

    @Test func duplicateOrder() throws {
        let duplicated = LedgerContents(orders: 99, units: 99, writes: 100, malformed: 0)
        #expect(kinds(try evidence(final: 1, ledger: duplicated, acknowledged: 99)).contains(.duplicateOrder))
    }

    @Test func lostSaleBothWays() throws {
        #expect(kinds(try evidence(acknowledged: 97)) == [.lostSale])
        #expect(kinds(try evidence(acknowledged: 103)) == [.lostSale])
    }

    @Test func deadWorkerUnacknowledgedSalesAreANoteNotAViolation() throws {
        let result = Audit.check(try evidence(acknowledged: 97, dead: 1))
        #expect(result.passed)
        #expect(result.notes.contains { $0.contains("3 units that no worker acknowledged") })
        // But acknowledgements the ledger lacks are lost sales even when a worker died.
        #expect(kinds(try evidence(acknowledged: 103, dead: 1)) == [.lostSale])
    }

    @Test func stuckStockWithUnboundedDemand() throws {
        let partial = LedgerContents(orders: 90, units: 90, writes: 90, malformed: 0)
        #expect(kinds(try evidence(final: 10, ledger: partial, acknowledged: 90)) == [.stuckStock])
        // Remaining stock below the smallest order is sold out, not stuck.
        let almost = LedgerContents(orders: 49, units: 98, writes: 49, malformed: 0)
        #expect(Audit.check(try evidence(final: 2, ledger: almost, acknowledged: 98, quantity: 3...3)).passed)
        // A run that was stopped proves nothing about leftover stock.
        #expect(Audit.check(try evidence(final: 10, ledger: partial, acknowledged: 90, cut: true)).passed)
    }

    @Test func boundedDemandBelowSupplyIsNotStuck() throws {
        let partial = LedgerContents(orders: 50, units: 50, writes: 50, malformed: 0)
        #expect(Audit.check(try evidence(final: 50, ledger: partial, acknowledged: 50, rejected: 0, orders: 50)).passed)
        // Orders refused as out of stock while stock remains for any order size: stuck.
        let refused = LedgerContents(orders: 40, units: 40, writes: 40, malformed: 0)
        #expect(
            kinds(try evidence(final: 60, ledger: refused, acknowledged: 40, rejected: 10, orders: 50)) == [.stuckStock]
        )
    }

    @Test func noLedgerChecksAcknowledgedSales() throws {
        let clean = Audit.check(try evidence(ledger: nil))
        #expect(clean.passed)
        #expect(clean.checked == "acknowledged-only")
        #expect(clean.notes.contains { $0.contains("acknowledged sales only") })
        #expect(kinds(try evidence(ledger: nil, acknowledged: 140)) == [.oversell, .conservation])
    }

    @Test func missingStockKeyFails() throws {
        #expect(!Audit.check(try evidence(final: nil)).passed)
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test func quantityParsing() throws {
        #expect(try Quantity(parsing: "3").range == 3...3)
        #expect(try Quantity(parsing: "1-3").range == 1...3)
        #expect(throws: ConfigurationError.self) { try Quantity(parsing: "0") }
        #expect(throws: ConfigurationError.self) { try Quantity(parsing: "3-1") }
        #expect(throws: ConfigurationError.self) { try Quantity(parsing: "x") }
        #expect(throws: ConfigurationError.self) { try Quantity(parsing: "1-") }
    }

    @Test func backoffParsing() throws {
        #expect(try BackoffSetting(parsing: "none") == .none)
        #expect(try BackoffSetting(parsing: "adaptive") == .standard)
        #expect(try BackoffSetting(parsing: "adaptive:10,900") == .adaptive(baseMicroseconds: 10, capMicroseconds: 900))
        #expect(SimulationConfiguration().backoff == .standard, "watch backs off adaptively by default")
        #expect(
            try BackoffSetting(parsing: "exponential:10,500")
                == .exponential(baseMicroseconds: 10, capMicroseconds: 500))
        #expect(throws: ConfigurationError.self) { try BackoffSetting(parsing: "exponential:500,10") }
        #expect(throws: ConfigurationError.self) { try BackoffSetting(parsing: "sometimes") }
    }

    @Test func validation() {
        #expect(throws: ConfigurationError.self) { try SimulationConfiguration(initialStock: -1).validate() }
        #expect(throws: ConfigurationError.self) { try SimulationConfiguration(workers: 0).validate() }
        #expect(throws: ConfigurationError.self) { try SimulationConfiguration(orders: 0).validate() }
        #expect(throws: Never.self) { try SimulationConfiguration().validate() }
    }

    @Test func keysShareTheStockKeysHashSlot() {
        let keys = StockKeys(stock: "stock:count")
        #expect(keys.ledger == "{stock:count}:ledger")
        #expect(keys.run == "{stock:count}:run")
        let tagged = StockKeys(stock: "{shop}:sku1")
        #expect(tagged.ledger == "{shop}:sku1:ledger")
    }
}
