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
            violations.append(.init(.conservation, "the stock key is gone: \(initial) units went in and nothing can be counted out"))
            return AuditResult(passed: false, checked: evidence.ledger == nil ? "acknowledged-only" : "ledger", violations: violations, notes: notes)
        }
        let taken = initial - final
        if final < 0 {
            violations.append(.init(.negativeStock, "final stock is \(final), below zero"))
        }
        if let ledger = evidence.ledger {
            let recorded = Int64(ledger.units)
            if recorded > initial {
                violations.append(.init(.oversell, "the ledger holds \(recorded) units sold from an initial stock of \(initial): \(recorded - initial) oversold"))
            }
            if recorded != taken {
                violations.append(.init(.conservation, "the ledger holds \(recorded) units but the stock went from \(initial) to \(final) (\(taken) taken)"))
            }
            if ledger.writes > ledger.orders {
                violations.append(.init(.duplicateOrder, "\(ledger.writes - ledger.orders) order ids were recorded more than once (\(ledger.writes) ledger writes for \(ledger.orders) distinct orders)"))
            }
            if ledger.malformed > 0 {
                notes.append("\(ledger.malformed) ledger entries do not hold a positive unit count")
            }
            if acknowledged > recorded {
                violations.append(.init(.lostSale, "workers acknowledged \(acknowledged) units but the ledger holds \(recorded): \(acknowledged - recorded) acknowledged units are not recorded"))
            } else if acknowledged < recorded {
                if evidence.deadWorkers > 0 {
                    notes.append("the ledger holds \(recorded - acknowledged) units that no worker acknowledged: sales of the \(evidence.deadWorkers) dead worker(s) that were committed before their report, not lost stock")
                } else {
                    violations.append(.init(.lostSale, "the ledger holds \(recorded) units but workers acknowledged only \(acknowledged): \(recorded - acknowledged) sales were made and never acknowledged"))
                }
            }
        } else {
            notes.append("no ledger (--no-ledger): checked acknowledged sales only")
            if acknowledged > initial {
                violations.append(.init(.oversell, "workers acknowledged \(acknowledged) units sold from an initial stock of \(initial): \(acknowledged - initial) oversold"))
            }
            if acknowledged != taken {
                if acknowledged < taken && taken - acknowledged <= Int64(evidence.unresolvedUnits) {
                    notes.append("\(taken - acknowledged) units were taken from the stock by orders whose reply was lost (\(evidence.unresolvedOrders) unresolved orders, \(evidence.unresolvedUnits) units): without a ledger their fate cannot be checked")
                } else if acknowledged < taken && evidence.deadWorkers > 0 {
                    notes.append("\(taken - acknowledged) units were taken from the stock without an acknowledgement: sales of the \(evidence.deadWorkers) dead worker(s)")
                } else {
                    violations.append(.init(.conservation, "workers acknowledged \(acknowledged) units but the stock went from \(initial) to \(final) (\(taken) taken)"))
                }
            }
        }
        if evidence.unresolvedOrders > 0, evidence.ledger != nil {
            notes.append("\(evidence.unresolvedOrders) orders (\(evidence.unresolvedUnits) units) lost their reply after the decrement was sent; this strategy cannot tell whether they took stock, because its ledger write is not atomic with the decrement — units taken that way are missing from the ledger")
        }
        if !evidence.demandCutShort, final >= 0 {
            let range = evidence.quantity.range
            if let limit = evidence.ordersLimit {
                let filled = evidence.ledger?.orders ?? evidence.acknowledgedOrders
                if filled < limit, evidence.rejectedOrders > 0, final >= Int64(range.upperBound) {
                    violations.append(.init(.stuckStock, "\(evidence.rejectedOrders) orders were refused as out of stock, yet \(final) units remain, enough for any order of \(evidence.quantity)"))
                }
            } else if final >= Int64(range.lowerBound) {
                violations.append(.init(.stuckStock, "demand lasted until the stock ran out, yet \(final) units remain (orders take \(evidence.quantity))"))
            }
        }
        return AuditResult(
            passed: violations.isEmpty, checked: evidence.ledger == nil ? "acknowledged-only" : "ledger",
            violations: violations, notes: notes)
    }
}
