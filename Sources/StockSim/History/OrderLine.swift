/// One line of an order: a stock key and the units taken from it. A cart is an array of these in cart order; a
/// single-key order is a cart of one. JSON: `{"key":"stock:count","units":2}`.
public struct OrderLine: Sendable, Hashable, Codable {
    /// The stock key.
    public var key: String
    /// Units the order takes from `key`; positive.
    public var units: Int64

    /// An order line.
    /// - Parameters:
    ///   - key: The stock key.
    ///   - units: Units taken from it.
    public init(key: String, units: Int64) {
        self.key = key
        self.units = units
    }
}
