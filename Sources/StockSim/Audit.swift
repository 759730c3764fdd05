/// One broken invariant, named by kind, with the numbers that show it.
public struct AuditViolation: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// Final stock below zero.
        case negativeStock = "negative-stock"
        /// Units in the ledger ≠ initial − final stock.
        case conservation
        /// More units sold (ledger) than the initial stock.
        case oversell
        /// An order id recorded more than once.
        case duplicateOrder = "duplicate-order"
        /// Units acknowledged by workers ≠ units in the ledger.
        case lostSale = "lost-sale"
        /// Demand exceeded supply but stock remains.
        case stuckStock = "stuck-stock"
        /// A recorded cart order did not take every SKU it names.
        case partialCart = "partial-cart"
    }

    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue): \(detail)" }
}

/// The verdict.
public struct AuditResult: Sendable, Hashable, Codable {
    public var passed: Bool
    /// `ledger` when the ledger was checked; `acknowledged-only` with `--no-ledger`.
    public var checked: String
    public var violations: [AuditViolation]
    /// Facts worth knowing that are not violations (a dead worker's unacknowledged sales, for instance).
    public var notes: [String]
}

/// The audit: checks what Redis holds after the workers ended. It reads Redis, not the workers' word; the workers'
/// acknowledgements are only compared against it.
public enum Audit {
    /// The facts the audit judges.
    public struct Evidence: Sendable, Hashable {
        public var initialStock: Int64
        /// The stock key's value after the run; `nil` when the key is gone.
        public var finalStock: Int64?
        /// The ledger as read back, or `nil` when the run had no ledger.
        public var ledger: LedgerContents?
        /// Units the workers were told they sold.
        public var acknowledgedUnits: Int
        public var acknowledgedOrders: Int
        /// Orders refused as out of stock.
        public var rejectedOrders: Int
        /// Workers that died (killed, crashed) before reporting.
        public var deadWorkers: Int
        public var quantity: Quantity
        /// `--orders`, or `nil` for demand that lasts until the stock runs out.
        public var ordersLimit: Int?
        /// True when demand was cut short (stopped, a worker error), so remaining stock proves nothing.
        public var demandCutShort: Bool
        /// Orders whose reply was lost and whose fate no one can know (`decr`, or no ledger), and their units.
        public var unresolvedOrders: Int = 0
        public var unresolvedUnits: Int = 0

        public init(
            initialStock: Int64, finalStock: Int64?, ledger: LedgerContents?, acknowledgedUnits: Int,
            acknowledgedOrders: Int, rejectedOrders: Int, deadWorkers: Int, quantity: Quantity, ordersLimit: Int?,
            demandCutShort: Bool
        ) {
            self.initialStock = initialStock
            self.finalStock = finalStock
            self.ledger = ledger
            self.acknowledgedUnits = acknowledgedUnits
            self.acknowledgedOrders = acknowledgedOrders
            self.rejectedOrders = rejectedOrders
            self.deadWorkers = deadWorkers
            self.quantity = quantity
            self.ordersLimit = ordersLimit
            self.demandCutShort = demandCutShort
        }
    }

    /// Judges the evidence.
    public static func check(_ evidence: Evidence) -> AuditResult {
        var violations: [AuditViolation] = []
        var notes: [String] = []
        let initial = evidence.initialStock
        let acknowledged = Int64(evidence.acknowledgedUnits)
        guard let final = evidence.finalStock else {
            violations.append(
                .init(.conservation, "the stock key is gone: \(initial) units went in and nothing can be counted out"))
            return AuditResult(
                passed: false, checked: evidence.ledger == nil ? "acknowledged-only" : "ledger", violations: violations,
                notes: notes)
        }
        let taken = initial - final
        if final < 0 {
            violations.append(.init(.negativeStock, "final stock is \(final), below zero"))
        }
        if let ledger = evidence.ledger {
            let recorded = Int64(ledger.units)
            if recorded > initial {
                violations.append(
                    .init(
                        .oversell,
                        "the ledger holds \(recorded) units sold from an initial stock of \(initial): \(recorded - initial) oversold"
                    ))
            }
            if recorded != taken {
                violations.append(
                    .init(
                        .conservation,
                        "the ledger holds \(recorded) units but the stock went from \(initial) to \(final) (\(taken) taken)"
                    ))
            }
            if ledger.writes > ledger.orders {
                violations.append(
                    .init(
                        .duplicateOrder,
                        "\(ledger.writes - ledger.orders) order ids were recorded more than once (\(ledger.writes) ledger writes for \(ledger.orders) distinct orders)"
                    ))
            }
            if ledger.malformed > 0 {
                notes.append("\(ledger.malformed) ledger entries do not hold a positive unit count")
            }
            if acknowledged > recorded {
                violations.append(
                    .init(
                        .lostSale,
                        "workers acknowledged \(acknowledged) units but the ledger holds \(recorded): \(acknowledged - recorded) acknowledged units are not recorded"
                    ))
            } else if acknowledged < recorded {
                if evidence.deadWorkers > 0 {
                    notes.append(
                        "the ledger holds \(recorded - acknowledged) units that no worker acknowledged: sales of the \(evidence.deadWorkers) dead worker(s) that were committed before their report, not lost stock"
                    )
                } else {
                    violations.append(
                        .init(
                            .lostSale,
                            "the ledger holds \(recorded) units but workers acknowledged only \(acknowledged): \(recorded - acknowledged) sales were made and never acknowledged"
                        ))
                }
            }
        } else {
            notes.append("no ledger (--no-ledger): checked acknowledged sales only")
            if acknowledged > initial {
                violations.append(
                    .init(
                        .oversell,
                        "workers acknowledged \(acknowledged) units sold from an initial stock of \(initial): \(acknowledged - initial) oversold"
                    ))
            }
            if acknowledged != taken {
                if acknowledged < taken && taken - acknowledged <= Int64(evidence.unresolvedUnits) {
                    notes.append(
                        "\(taken - acknowledged) units were taken from the stock by orders whose reply was lost (\(evidence.unresolvedOrders) unresolved orders, \(evidence.unresolvedUnits) units): without a ledger their fate cannot be checked"
                    )
                } else if acknowledged < taken && evidence.deadWorkers > 0 {
                    notes.append(
                        "\(taken - acknowledged) units were taken from the stock without an acknowledgement: sales of the \(evidence.deadWorkers) dead worker(s)"
                    )
                } else {
                    violations.append(
                        .init(
                            .conservation,
                            "workers acknowledged \(acknowledged) units but the stock went from \(initial) to \(final) (\(taken) taken)"
                        ))
                }
            }
        }
        if evidence.unresolvedOrders > 0, evidence.ledger != nil {
            notes.append(
                "\(evidence.unresolvedOrders) orders (\(evidence.unresolvedUnits) units) lost their reply after the decrement was sent; this strategy cannot tell whether they took stock, because its ledger write is not atomic with the decrement — units taken that way are missing from the ledger"
            )
        }
        if !evidence.demandCutShort, final >= 0 {
            let range = evidence.quantity.range
            if let limit = evidence.ordersLimit {
                let filled = evidence.ledger?.orders ?? evidence.acknowledgedOrders
                if filled < limit, evidence.rejectedOrders > 0, final >= Int64(range.upperBound) {
                    violations.append(
                        .init(
                            .stuckStock,
                            "\(evidence.rejectedOrders) orders were refused as out of stock, yet \(final) units remain, enough for any order of \(evidence.quantity)"
                        ))
                }
            } else if final >= Int64(range.lowerBound) {
                violations.append(
                    .init(
                        .stuckStock,
                        "demand lasted until the stock ran out, yet \(final) units remain (orders take \(evidence.quantity))"
                    ))
            }
        }
        return AuditResult(
            passed: violations.isEmpty, checked: evidence.ledger == nil ? "acknowledged-only" : "ledger",
            violations: violations, notes: notes)
    }
}

extension Audit {
    /// The facts a catalog run's audit judges: one stock key per SKU, ledgers per group, carts.
    struct CatalogEvidence {
        var layout: CatalogLayout
        /// Every SKU's initial stock.
        var initialStock: Int64
        /// Each SKU's final stock; `nil` for a key that is gone.
        var finalStock: [Int64?]
        var ledger: CatalogLedger?
        var acknowledgedBySKU: [Int]
        var acknowledgedOrders: Int
        var rejectedOrders: Int
        var deadWorkers: Int
        var unresolvedOrders: Int
        var unresolvedUnits: Int
        var quantity: Quantity
        var cartSize: Int
        var ordersLimit: Int?
        var demandCutShort: Bool
    }

    /// Judges a catalog run: every check of a single-key run, per SKU, plus `partial-cart`.
    static func check(_ evidence: CatalogEvidence) -> AuditResult {
        var found: [AuditViolation.Kind: [String]] = [:]
        var notes: [String] = []
        let layout = evidence.layout
        let initial = evidence.initialStock
        var unacknowledgedFromDead = 0
        for sku in 0..<layout.skus {
            let key = layout.stockKey(sku)
            guard let final = evidence.finalStock[sku] else {
                found[.conservation, default: []].append("\(key) is gone")
                continue
            }
            let taken = initial - final
            if final < 0 { found[.negativeStock, default: []].append("\(key) ended at \(final)") }
            let acknowledged = Int64(evidence.acknowledgedBySKU[sku])
            if let ledger = evidence.ledger {
                let recorded = Int64(ledger.unitsBySKU[sku])
                if recorded > initial { found[.oversell, default: []].append("\(key): \(recorded) sold of \(initial)") }
                if recorded != taken {
                    found[.conservation, default: []].append(
                        "\(key): ledger \(recorded), stock \(initial)→\(final) (\(taken) taken)")
                }
                if acknowledged > recorded {
                    found[.lostSale, default: []].append("\(key): acknowledged \(acknowledged), ledger \(recorded)")
                } else if acknowledged < recorded {
                    if evidence.deadWorkers > 0 {
                        unacknowledgedFromDead += Int(recorded - acknowledged)
                    } else {
                        found[.lostSale, default: []].append(
                            "\(key): ledger \(recorded), acknowledged only \(acknowledged)")
                    }
                }
            } else {
                if acknowledged > initial {
                    found[.oversell, default: []].append("\(key): \(acknowledged) acknowledged of \(initial)")
                }
                if acknowledged > taken
                    || (acknowledged < taken && evidence.deadWorkers == 0 && evidence.unresolvedUnits == 0)
                {
                    found[.conservation, default: []].append(
                        "\(key): acknowledged \(acknowledged), stock \(initial)→\(final)")
                }
            }
        }
        if let ledger = evidence.ledger {
            if ledger.writes > ledger.fields {
                found[.duplicateOrder, default: []].append(
                    "\(ledger.writes - ledger.fields) ledger entries written more than once (\(ledger.writes) writes, \(ledger.fields) entries)"
                )
            }
            if !ledger.partialOrders.isEmpty {
                found[.partialCart, default: []].append(
                    "\(ledger.partialOrders.count) recorded orders did not take every SKU they name, as \(ledger.partialOrders.prefix(3).joined(separator: ", "))"
                )
            }
            if ledger.malformed > 0 { notes.append("\(ledger.malformed) ledger entries are malformed") }
        } else {
            notes.append("no ledger (--no-ledger): checked acknowledged sales only")
        }
        if unacknowledgedFromDead > 0 {
            notes.append(
                "the ledgers hold \(unacknowledgedFromDead) units that no worker acknowledged: sales of the \(evidence.deadWorkers) dead worker(s) committed before their report, not lost stock"
            )
        }
        if evidence.unresolvedOrders > 0 {
            notes.append(
                "\(evidence.unresolvedOrders) orders (\(evidence.unresolvedUnits) units) lost their reply mid-order; \(evidence.ledger == nil ? "without a ledger" : "with this strategy") their fate cannot be checked"
            )
        }
        if !evidence.demandCutShort {
            let minimum = Int64(evidence.quantity.range.lowerBound)
            let maximum = Int64(evidence.quantity.range.upperBound)
            let bounded = evidence.ordersLimit != nil
            let threshold = bounded ? maximum : minimum
            let filled = evidence.ledger?.orders ?? evidence.acknowledgedOrders
            let demandExceeded = !bounded || (filled < (evidence.ordersLimit ?? 0) && evidence.rejectedOrders > 0)
            if demandExceeded {
                for group in 0..<layout.groups {
                    let stocked = layout.skus(in: group).filter { (evidence.finalStock[$0] ?? 0) >= threshold }
                    if stocked.count >= evidence.cartSize {
                        found[.stuckStock, default: []].append(
                            "group \(group) still has \(stocked.count) SKUs with \(threshold)+ units, enough for a cart of \(evidence.cartSize)"
                        )
                    }
                }
            }
        }
        let violations = AuditViolation.Kind.allCases.compactMap { kind -> AuditViolation? in
            guard let details = found[kind] else { return nil }
            let shown = details.prefix(5).joined(separator: "; ")
            return AuditViolation(kind, details.count > 5 ? "\(shown); and \(details.count - 5) more" : shown)
        }
        return AuditResult(
            passed: violations.isEmpty, checked: evidence.ledger == nil ? "acknowledged-only" : "ledger",
            violations: violations, notes: notes)
    }
}
