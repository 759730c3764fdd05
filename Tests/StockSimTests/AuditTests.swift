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
        #expect(try BackoffSetting(parsing: "adaptive") == .adaptive(baseMicroseconds: 1_000, capMicroseconds: 200_000))
        #expect(try BackoffSetting(parsing: "adaptive:10,900") == .adaptive(baseMicroseconds: 10, capMicroseconds: 900))
        #expect(try BackoffSetting(parsing: "tracking") == .standard)
        #expect(BackoffSetting.standard == .tracking(conflictPercent: 50, capMicroseconds: 100_000))
        #expect(
            try BackoffSetting(parsing: "tracking:30,5000") == .tracking(conflictPercent: 30, capMicroseconds: 5_000))
        #expect(BackoffSetting.standard.description == "tracking:50,100000")
        #expect(SimulationConfiguration().backoff == .standard, "watch tracks the conflict rate by default")
        #expect(throws: ConfigurationError.self) { try BackoffSetting(parsing: "tracking:100,5000") }
        #expect(throws: ConfigurationError.self) { try BackoffSetting(parsing: "tracking:50") }
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

/// The audit names changes from outside the run as such (issue 10, class 5), and still catches the run's own.
@Suite("Audit: changes from outside")
struct OutsideChangeAuditTests {
    func evidence(
        final: Int64, ledger: LedgerContents?, acknowledged: Int, acknowledgedOrders: Int? = nil,
        onlyTakesUnits: Bool = true
    ) throws -> Audit.Evidence {
        var evidence = Audit.Evidence(
            initialStock: 100, finalStock: final, ledger: ledger, acknowledgedUnits: acknowledged,
            acknowledgedOrders: acknowledgedOrders ?? acknowledged, rejectedOrders: 4, deadWorkers: 0,
            quantity: try Quantity(1...1), ordersLimit: nil, demandCutShort: false)
        evidence.onlyTakesUnits = onlyTakesUnits
        return evidence
    }

    func kinds(_ evidence: Audit.Evidence) -> Set<AuditViolation.Kind> {
        Set(Audit.check(evidence).violations.map(\.kind))
    }

    @Test func unitsAddedByAnotherClientAreNotAnOversell() throws {
        // INCRBY 50 mid-run: 150 sold from 100, none left.
        let ledger = LedgerContents(orders: 150, units: 150, writes: 150, malformed: 0)
        let result = Audit.check(try evidence(final: 0, ledger: ledger, acknowledged: 150))
        #expect(Set(result.violations.map(\.kind)) == [.stockChangedOutside])
        #expect(result.violations.first?.detail.contains("at least 50 units added") == true)
        #expect(!result.passed)
        // Stopped early with stock left: 20 left and 100 sold from 100.
        let partial = LedgerContents(orders: 100, units: 100, writes: 100, malformed: 0)
        #expect(kinds(try evidence(final: 20, ledger: partial, acknowledged: 100)) == [.stockChangedOutside])
        // Without a ledger, the acknowledged sales say the same.
        #expect(kinds(try evidence(final: 0, ledger: nil, acknowledged: 150)) == [.stockChangedOutside])
    }

    @Test func unitsTakenByAnotherClientAreProvenOnlyWhenEveryDecrementIsAccountedFor() throws {
        // 60 sold and recorded, nothing left of 100: 40 units left the stock without a sale of the run.
        let ledger = LedgerContents(orders: 60, units: 60, writes: 60, malformed: 0)
        let result = Audit.check(try evidence(final: 0, ledger: ledger, acknowledged: 60))
        #expect(result.violations.map(\.kind) == [.stockChangedOutside])
        #expect(result.violations.first?.detail.contains("40 units left the stock") == true)
        // A dead worker may have taken them (decr writes its ledger after the decrement): no proof.
        var dead = try evidence(final: 0, ledger: ledger, acknowledged: 60)
        dead.deadWorkers = 1
        #expect(Audit.check(dead).violations.map(\.kind) == [.conservation])
        // Nor when unresolved orders could account for them.
        var unresolved = try evidence(final: 0, ledger: ledger, acknowledged: 60)
        unresolved.unresolvedOrders = 40
        unresolved.unresolvedUnits = 40
        #expect(Audit.check(unresolved).violations.map(\.kind) == [.conservation])
    }

    @Test func aStrategyThatWritesTheStockBackStillOversells() throws {
        // unsafe's GET then SET can put units back itself: the same figures are its own oversell.
        let ledger = LedgerContents(orders: 150, units: 150, writes: 150, malformed: 0)
        let found = kinds(try evidence(final: 0, ledger: ledger, acknowledged: 150, onlyTakesUnits: false))
        #expect(found.contains(.oversell))
        #expect(!found.contains(.stockChangedOutside))
    }

    @Test func duplicatesOrUnacknowledgedEntriesKeepTheOversell() throws {
        // A duplicate could count units twice, an unacknowledged entry may come from outside the run's sales.
        let duplicated = LedgerContents(orders: 150, units: 150, writes: 160, malformed: 0)
        #expect(kinds(try evidence(final: 0, ledger: duplicated, acknowledged: 150)).contains(.oversell))
        let unacknowledged = LedgerContents(orders: 150, units: 150, writes: 150, malformed: 0)
        #expect(kinds(try evidence(final: 0, ledger: unacknowledged, acknowledged: 140)).contains(.oversell))
    }

    @Test func ledgerEntriesRemovedByAnotherClientAreNotDuplicates() throws {
        // DEL of the ledger mid-run: 60 entries written after it, 100 acknowledged, 100 writes counted.
        let deleted = LedgerContents(orders: 60, units: 60, writes: 100, malformed: 0)
        let result = Audit.check(try evidence(final: 0, ledger: deleted, acknowledged: 100))
        #expect(Set(result.violations.map(\.kind)) == [.ledgerChangedOutside], "\(result.violations)")
        #expect(result.violations.first?.detail.contains("40 entries removed") == true)
        #expect(result.checked == "acknowledged-only")
        #expect(!result.passed)
        // The ledger key gone at the end.
        let gone = LedgerContents(orders: 0, units: 0, writes: 100, malformed: 0)
        #expect(kinds(try evidence(final: 0, ledger: gone, acknowledged: 100)) == [.ledgerChangedOutside])
        // The stock is still judged on the acknowledgements: 80 acknowledged but 90 taken.
        #expect(
            kinds(try evidence(final: 10, ledger: deleted, acknowledged: 80)) == [
                .ledgerChangedOutside, .stockChangedOutside,
            ])
    }

    @Test func entriesNeverWrittenAreStillALostSaleAndRepeatsADuplicate() throws {
        // Acknowledged but never written (the writes counter agrees): the run's own loss.
        let unwritten = LedgerContents(orders: 90, units: 90, writes: 90, malformed: 0)
        #expect(
            kinds(try evidence(final: 10, ledger: unwritten, acknowledged: 100, acknowledgedOrders: 100)).contains(
                .lostSale))
        // Every acknowledged entry present and more writes than entries: written twice.
        let twice = LedgerContents(orders: 100, units: 100, writes: 105, malformed: 0)
        #expect(kinds(try evidence(final: 0, ledger: twice, acknowledged: 100)) == [.duplicateOrder])
    }
}
