/// Stock given from outside a history, per key or for every key (`--initial 100`, `--initial stock:count=100`).
public struct StockGiven: Sendable, Hashable {
    /// The stock for any key not named in `perKey`.
    public var all: Int64?
    /// The stock of named keys.
    public var perKey: [String: Int64]

    /// Stock given.
    /// - Parameters:
    ///   - all: The stock for every key not named.
    ///   - perKey: The stock of named keys.
    public init(all: Int64? = nil, perKey: [String: Int64] = [:]) {
        self.all = all
        self.perKey = perKey
    }

    /// Nothing given.
    public static let none = StockGiven()

    /// The stock given for `key`: its own, else the one for all keys, else `fallback`.
    /// - Parameters:
    ///   - key: The stock key.
    ///   - fallback: What the history itself says.
    /// - Returns: The stock, or `nil` when neither gives one.
    public func stock(for key: String, fallback: Int64?) -> Int64? {
        perKey[key] ?? all ?? fallback
    }
}
