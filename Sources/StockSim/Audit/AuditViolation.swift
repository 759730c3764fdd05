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
        /// Units were added to a stock key by another client during the run: the final stock and the units sold
        /// come to more than the initial stock, under a strategy that only ever takes units.
        case stockChangedOutside = "stock-changed-outside"
        /// Ledger entries that the run wrote (its `ledger_writes` counts them) and acknowledged are gone: the run
        /// never deletes an entry, so another client did (`DEL`, `HDEL`).
        case ledgerChangedOutside = "ledger-changed-outside"
        /// Per-sale witness: two sales took the same stock (the later one's "stock left + units" is above the earlier
        /// one's "stock left") — a lost update, even when the totals balance.
        case staleRead = "stale-read"
        /// Per-sale witness: units taken between two sales that no sale nor unknown-outcome order accounts for.
        case gap
        /// Per-sale witness: the first sale of a key does not start from its initial stock.
        case chainStart = "chain-start"
        /// Per-sale witness: the last sale of a key does not end at its final stock.
        case chainEnd = "chain-end"

        /// True for the kinds that say the data was changed from outside the run, so the audit cannot vouch for it
        /// (exit status 3), rather than a violation the run caused (exit status 1).
        public var isOutsideChange: Bool { self == .stockChangedOutside || self == .ledgerChangedOutside }
    }

    public var kind: Kind
    public var detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue): \(detail)" }
}
