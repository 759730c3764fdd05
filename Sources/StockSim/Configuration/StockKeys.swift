/// The keys of one stock key, all in its Redis Cluster hash slot: a single-key run's keys.
///
/// For `stock:count`: the ledger is `{stock:count}:ledger` and the run metadata `{stock:count}:run`. A key that
/// already has a hash tag (`{shop}:stock`) keeps it: `{shop}:stock:ledger`.
public struct StockKeys: Sendable, Hashable, Codable {
    public let stock: String
    /// A hash: order id → units. HSETNX makes a membership check O(1) and a second write of an id a no-op.
    public let ledger: String
    /// A hash of run metadata, including `ledger_writes`: every attempt to record an order, so that
    /// `ledger_writes − HLEN ledger` counts order ids recorded more than once.
    public let run: String

    init(stock: String, ledger: String, run: String) {
        self.stock = stock
        self.ledger = ledger
        self.run = run
    }

    /// The keys of `stock`, its ledger and run hash under its hash tag.
    public init(stock: String) {
        self.stock = stock
        let tagged = Self.hasHashTag(stock)
        ledger = tagged ? "\(stock):ledger" : "{\(stock)}:ledger"
        run = tagged ? "\(stock):run" : "{\(stock)}:run"
    }

    /// True when `key` contains a non-empty `{…}` hash tag, the part Redis Cluster hashes.
    static func hasHashTag(_ key: String) -> Bool {
        guard let open = key.firstIndex(of: "{"), let close = key[open...].firstIndex(of: "}") else { return false }
        return key.index(after: open) < close
    }
}
