/// One sale as the witness names it in a violation.
public struct WitnessSale: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The order id.
    public var order: String
    /// The worker's index.
    public var worker: Int
    /// The stock left on the key after this sale, as the seller learned it.
    public var stockLeft: Int64
    /// Units this sale took from the key.
    public var units: Int64

    /// A sale.
    /// - Parameters:
    ///   - order: The order id.
    ///   - worker: The worker's index.
    ///   - stockLeft: The stock left after the sale.
    ///   - units: Units taken.
    public init(order: String, worker: Int, stockLeft: Int64, units: Int64) {
        self.order = order
        self.worker = worker
        self.stockLeft = stockLeft
        self.units = units
    }

    public var description: String {
        "\(order) (worker \(worker), \(NumberText.count(units, "unit")), left \(stockLeft))"
    }
}

/// A break in a key's chain of sales, named by kind, with the sales on either side of it.
public struct WitnessViolation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How the chain broke.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// Two sales took overlapping stock: the later one's "stock left + units" is above the earlier one's "stock
        /// left", as when two buyers read the same stock and both sold from it — the double-sell signature.
        case staleRead = "stale-read"
        /// Units went missing between two sales: taken, but no acknowledged sale (nor unknown-outcome order)
        /// accounts for them — a lost sale, or a write from outside.
        case gap
        /// The first sale does not start from the initial stock.
        case chainStart = "chain-start"
        /// The last sale does not end at the final stock (or, with no sale, the stock moved).
        case chainEnd = "chain-end"
        /// A sale left the stock below zero.
        case oversell
    }

    public var kind: Kind
    /// The stock key whose chain broke.
    public var key: String
    /// The sale above the break (more stock left); `nil` at the chain's start.
    public var earlier: WitnessSale?
    /// The sale below the break; `nil` at the chain's end.
    public var later: WitnessSale?
    /// What broke, in numbers.
    public var detail: String

    /// A violation.
    /// - Parameters:
    ///   - kind: How the chain broke.
    ///   - key: The stock key.
    ///   - earlier: The sale above the break.
    ///   - later: The sale below it.
    ///   - detail: What broke, in numbers.
    public init(_ kind: Kind, key: String, earlier: WitnessSale?, later: WitnessSale?, detail: String) {
        self.kind = kind
        self.key = key
        self.earlier = earlier
        self.later = later
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue) on \(key): \(detail)" }
}
