/// The audit: checks what Redis holds after the workers ended. It reads Redis, not the workers' word; the workers'
/// acknowledgements are only compared against it. One check per SKU, whether the run had one stock key or a catalog.
public enum Audit {
    /// The facts the audit judges, per SKU: a single-key run is a catalog of one.
    public struct Evidence: Sendable, Hashable {
        public var layout: CatalogLayout
        /// Every SKU's initial stock.
        public var initialStock: Int64
        /// Each SKU's stock after the run; `nil` for a key that is gone.
        public var finalStock: [Int64?]
        /// The ledgers as read back, or `nil` when the run had no ledger.
        public var ledger: LedgerContents?
        /// Units the workers were told they sold, per SKU.
        public var acknowledgedBySKU: [Int]
        public var acknowledgedOrders: Int
        /// Orders refused as out of stock.
        public var rejectedOrders: Int
        /// Workers that died (killed, crashed) before reporting.
        public var deadWorkers: Int
        public var quantity: Quantity
        /// SKUs per order.
        public var cartSize: Int
        /// `--orders`, or `nil` for demand that lasts until the stock runs out.
        public var ordersLimit: Int?
        /// True when demand was cut short (stopped, a worker error), so remaining stock proves nothing.
        public var demandCutShort: Bool
        /// Orders whose reply was lost and whose fate no one can know (`decr`, or no ledger), and their units.
        public var unresolvedOrders: Int
        public var unresolvedUnits: Int
        /// True when the strategy only ever takes units from the stock (`Strategy.onlyTakesUnits`), so that units
        /// that appear from nowhere prove a change from outside the run; false keeps them an oversell.
        public var onlyTakesUnits = false
        /// True when a worker stopped on an error: a decrement it kept may then lack its ledger entry.
        public var workersFailed = false
        /// Groups whose owner could not be read (a Redis Cluster master lost): their SKUs are not audited.
        public var unreachableGroups: [Int] = []

        /// The evidence of a catalog run.
        public init(
            layout: CatalogLayout, initialStock: Int64, finalStock: [Int64?], ledger: LedgerContents?,
            acknowledgedBySKU: [Int], acknowledgedOrders: Int, rejectedOrders: Int, deadWorkers: Int,
            quantity: Quantity, cartSize: Int, ordersLimit: Int?, demandCutShort: Bool, unresolvedOrders: Int = 0,
            unresolvedUnits: Int = 0
        ) {
            self.layout = layout
            self.initialStock = initialStock
            self.finalStock = finalStock
            self.ledger = ledger
            self.acknowledgedBySKU = acknowledgedBySKU
            self.acknowledgedOrders = acknowledgedOrders
            self.rejectedOrders = rejectedOrders
            self.deadWorkers = deadWorkers
            self.quantity = quantity
            self.cartSize = cartSize
            self.ordersLimit = ordersLimit
            self.demandCutShort = demandCutShort
            self.unresolvedOrders = unresolvedOrders
            self.unresolvedUnits = unresolvedUnits
        }

        /// The evidence of a single stock key: a catalog of one SKU (named `stock` in the findings).
        public init(
            initialStock: Int64, finalStock: Int64?, ledger: LedgerContents?, acknowledgedUnits: Int,
            acknowledgedOrders: Int, rejectedOrders: Int, deadWorkers: Int, quantity: Quantity, ordersLimit: Int?,
            demandCutShort: Bool, unresolvedOrders: Int = 0, unresolvedUnits: Int = 0
        ) {
            self.init(
                layout: CatalogLayout(key: "stock", skus: 1, groups: 1), initialStock: initialStock,
                finalStock: [finalStock], ledger: ledger, acknowledgedBySKU: [acknowledgedUnits],
                acknowledgedOrders: acknowledgedOrders, rejectedOrders: rejectedOrders, deadWorkers: deadWorkers,
                quantity: quantity, cartSize: 1, ordersLimit: ordersLimit, demandCutShort: demandCutShort,
                unresolvedOrders: unresolvedOrders, unresolvedUnits: unresolvedUnits)
        }
    }

    /// Judges the evidence: per SKU negative stock, oversell, conservation and lost sales; over the ledgers duplicate
    /// entries and partial carts; per group stock left that demand should have taken.
    ///
    /// - Parameter evidence: what Redis held after the run, and what the workers acknowledged.
    /// - Returns: the verdict, with at most five findings shown per kind.
    public static func check(_ evidence: Evidence) -> AuditResult {
        if let removed = ledgerEntriesRemoved(evidence) {
            // The ledger cannot vouch for anything: judge the stock against the workers' acknowledgements instead.
            var acknowledgedOnly = evidence
            acknowledgedOnly.ledger = nil
            var result = check(acknowledgedOnly)
            result.notes.removeAll { $0.hasPrefix("no ledger") }
            result.notes.insert(
                "the ledger was changed from outside, so the stock was checked against the workers' acknowledged sales",
                at: 0)
            result.violations.insert(AuditViolation(.ledgerChangedOutside, removed), at: 0)
            result.passed = false
            return result
        }
        var found: [AuditViolation.Kind: [String]] = [:]
        var notes: [String] = []
        let layout = evidence.layout
        let initial = evidence.initialStock
        var unacknowledgedRecorded = 0
        var unacknowledgedTaken = 0
        var untakenAcknowledged: [String] = []
        let unreachable = Set(evidence.unreachableGroups)
        if !unreachable.isEmpty {
            notes.append(
                "groups \(evidence.unreachableGroups.map(String.init).joined(separator: ", ")) could not be read (their master is unreachable) and are not audited; every other group is"
            )
        }
        for sku in 0..<layout.skus where !unreachable.contains(layout.group(of: sku)) {
            let key = layout.stockKey(sku)
            guard let final = evidence.finalStock[sku] else {
                found[.conservation, default: []].append(
                    "the stock key \(key) is gone: \(NumberText.count(initial, "unit")) went in and nothing can be counted out"
                )
                continue
            }
            let taken = initial - final
            if final < 0 { found[.negativeStock, default: []].append("final stock of \(key) is \(final), below zero") }
            let acknowledged = Int64(evidence.acknowledgedBySKU[sku])
            // What was sold: the ledger's word, or without one the workers'.
            let recorded = evidence.ledger.map { Int64($0.unitsBySKU[sku]) }
            let sold = recorded ?? acknowledged
            let source = recorded == nil ? "workers acknowledged" : "the ledger holds"
            // Units from nowhere prove an outside change only when no duplicate could count a unit twice and the
            // workers acknowledged exactly what the ledger holds (so no entry was written from outside either).
            let addedFromOutside =
                evidence.onlyTakesUnits && final >= 0 && final + sold > initial
                && !(evidence.ledger.map { $0.writes > $0.fields } ?? false)
                && (recorded.map { $0 == acknowledged } ?? true)
            let removedFromOutside =
                evidence.onlyTakesUnits && final >= 0 && evidence.deadWorkers == 0 && !evidence.workersFailed
                && taken > sold + Int64(evidence.unresolvedUnits)
                && !(evidence.ledger.map { $0.writes > $0.fields } ?? false)
                && (recorded.map { $0 == acknowledged } ?? true)
            if sold > initial, !addedFromOutside {
                found[.oversell, default: []].append(
                    "\(key): \(source) \(NumberText.count(sold, "unit")) sold from an initial stock of \(initial): \(sold - initial) oversold"
                )
            }
            let imbalance =
                "\(key): \(source) \(NumberText.count(sold, "unit")) but the stock went from \(initial) to \(final) (\(taken) taken)"
            if addedFromOutside {
                // Every unit sold left the stock by one decrement of this run and nothing of the run puts units
                // back beyond its own refused decrements: more than the initial stock came in from outside.
                found[.stockChangedOutside, default: []].append(
                    "\(key): the stock ended at \(final) with \(NumberText.count(sold, "unit")) sold from an initial \(initial), and this strategy only takes units: at least \(NumberText.count(final + sold - initial, "unit")) added by another client during the run"
                )
            } else if removedFromOutside {
                // Every decrement the run kept is a recorded sale or an unresolved order, and no worker died or failed: units
                // beyond those left the stock by another client's hand.
                found[.stockChangedOutside, default: []].append(
                    "\(key): the stock went from \(initial) to \(final) but \(source) \(NumberText.count(sold, "unit")) sold (and \(NumberText.count(evidence.unresolvedUnits, "unit")) unresolved): \(NumberText.count(taken - sold - Int64(evidence.unresolvedUnits), "unit")) left the stock that no sale of the run took — the key was deleted mid-run (DECRBY creates a missing key anew) or decremented by another client"
                )
            } else if sold > taken || (recorded != nil && sold < taken) {
                found[.conservation, default: []].append(imbalance)
            } else if sold < taken {
                // Without a ledger, units taken but not acknowledged may be lost replies or dead workers' sales.
                unacknowledgedTaken += Int(taken - sold)
                untakenAcknowledged.append(imbalance)
            }
            guard let recorded else { continue }
            if acknowledged > recorded {
                found[.lostSale, default: []].append(
                    "\(key): workers acknowledged \(NumberText.count(acknowledged, "unit")) but the ledger holds \(recorded): \(NumberText.count(acknowledged - recorded, "acknowledged unit")) not recorded"
                )
            } else if acknowledged < recorded {
                if evidence.deadWorkers > 0 {
                    unacknowledgedRecorded += Int(recorded - acknowledged)
                } else {
                    found[.lostSale, default: []].append(
                        "\(key): the ledger holds \(NumberText.count(recorded, "unit")) but workers acknowledged only \(acknowledged): \(NumberText.count(recorded - acknowledged, "unit")) sold and never acknowledged"
                    )
                }
            }
        }
        if let ledger = evidence.ledger {
            if ledger.writes > ledger.fields {
                found[.duplicateOrder, default: []].append(
                    "\(NumberText.count(ledger.writes - ledger.fields, "ledger entry", plural: "ledger entries")) recorded more than once (\(NumberText.count(ledger.writes, "ledger write")) for \(NumberText.count(ledger.fields, "distinct entry", plural: "distinct entries")))"
                )
            }
            if !ledger.partialOrders.isEmpty {
                found[.partialCart, default: []].append(
                    "\(NumberText.count(ledger.partialOrders.count, "recorded order")) did not take every SKU named, as \(ledger.partialOrders.prefix(3).joined(separator: ", "))"
                )
            }
            if ledger.malformed > 0 {
                notes.append(
                    "\(NumberText.count(ledger.malformed, "ledger entry", plural: "ledger entries")) without a positive unit count"
                )
            }
            if evidence.unresolvedOrders > 0 {
                notes.append(
                    "\(NumberText.count(evidence.unresolvedOrders, "order")) (\(NumberText.count(evidence.unresolvedUnits, "unit"))) lost their reply after the decrement was sent; this strategy cannot tell whether they took stock, because its ledger write is not atomic with the decrement — units taken that way are missing from the ledger"
                )
            }
        } else {
            notes.append("no ledger (--no-ledger): checked acknowledged sales only")
            if unacknowledgedTaken > 0 {
                if unacknowledgedTaken <= evidence.unresolvedUnits {
                    notes.append(
                        "\(NumberText.count(unacknowledgedTaken, "unit")) taken from the stock by orders whose reply was lost (\(NumberText.count(evidence.unresolvedOrders, "unresolved order")), \(NumberText.count(evidence.unresolvedUnits, "unit"))): without a ledger their fate cannot be checked"
                    )
                } else if evidence.deadWorkers > 0 {
                    notes.append(
                        "\(NumberText.count(unacknowledgedTaken, "unit")) taken from the stock without an acknowledgement: sales of \(NumberText.count(evidence.deadWorkers, "dead worker"))"
                    )
                } else {
                    found[.conservation, default: []] += untakenAcknowledged
                }
            }
        }
        if unacknowledgedRecorded > 0 {
            notes.append(
                "the ledger holds \(NumberText.count(unacknowledgedRecorded, "unit")) that no worker acknowledged: sales of \(NumberText.count(evidence.deadWorkers, "dead worker")), committed before their report, not lost stock"
            )
        }
        // Stock added from outside is no demand's to take: judge what is left only when the stock is the run's own.
        if !evidence.demandCutShort, found[.stockChangedOutside] == nil {
            found[.stuckStock, default: []] += stuckStock(evidence)
        }
        let violations = AuditViolation.Kind.allCases.compactMap { kind -> AuditViolation? in
            guard let details = found[kind], !details.isEmpty else { return nil }
            let shown = details.prefix(5).joined(separator: "; ")
            return AuditViolation(kind, details.count > 5 ? "\(shown); and \(details.count - 5) more" : shown)
        }
        return AuditResult(
            passed: violations.isEmpty, checked: evidence.ledger == nil ? "acknowledged-only" : "ledger",
            violations: violations, notes: notes)
    }

    /// Entries the run wrote and acknowledged that the ledger no longer holds. The run never deletes an entry, so
    /// fewer entries than acknowledged orders name, while `ledger_writes` counted at least that many writes, means
    /// another client removed them. A ledger and run hash both deleted leave no count: that reads as a lost sale.
    ///
    /// - Returns: the finding, or `nil` when the ledger holds every acknowledged entry.
    private static func ledgerEntriesRemoved(_ evidence: Evidence) -> String? {
        guard let ledger = evidence.ledger else { return nil }
        let acknowledgedEntries = evidence.acknowledgedOrders * evidence.cartSize
        guard ledger.fields < acknowledgedEntries, ledger.writes >= acknowledgedEntries else { return nil }
        return
            "the ledger holds \(NumberText.count(ledger.fields, "entry", plural: "entries")) but the workers acknowledged \(NumberText.count(evidence.acknowledgedOrders, "order")) (\(NumberText.count(acknowledgedEntries, "entry", plural: "entries"))) and the run counted \(NumberText.count(ledger.writes, "ledger write")): \(NumberText.count(acknowledgedEntries - ledger.fields, "entry", plural: "entries")) removed by another client during the run (DEL or HDEL of the ledger)"
    }

    /// Groups that still hold enough stock for an order although demand exceeded what was sold: unbounded demand
    /// should have taken everything an order can take; bounded demand that saw refusals should not have been refused.
    private static func stuckStock(_ evidence: Evidence) -> [String] {
        let range = evidence.quantity.range
        let bounded = evidence.ordersLimit != nil
        if let limit = evidence.ordersLimit {
            let filled = evidence.ledger?.orders ?? evidence.acknowledgedOrders
            guard filled < limit, evidence.rejectedOrders > 0 else { return [] }
        }
        // Refusals while stock remains for any order size, or stock left for the smallest order when demand lasted.
        let threshold = Int64(bounded ? range.upperBound : range.lowerBound)
        let layout = evidence.layout
        return (0..<layout.groups).compactMap { group in
            let stocked = layout.skus(in: group).filter { (evidence.finalStock[$0] ?? 0) >= threshold }
            guard stocked.count >= evidence.cartSize else { return nil }
            let left = stocked.prefix(3).map { "\(layout.stockKey($0)) has \(evidence.finalStock[$0] ?? 0)" }
            let demand =
                bounded
                ? "\(NumberText.count(evidence.rejectedOrders, "order")) refused as out of stock"
                : "demand lasted until the stock ran out"
            return
                "\(demand), yet \(left.joined(separator: ", "))\(stocked.count > 3 ? " and \(NumberText.count(stocked.count - 3, "more SKU"))" : "") left, enough for an order of \(NumberText.count(evidence.cartSize, "SKU")) × \(evidence.quantity)"
        }
    }
}
