/// What the witness found on one key.
public struct WitnessKeyResult: Sendable, Hashable, Codable {
    public var key: String
    /// The initial stock, `nil` when not given (then the chain is not checked).
    public var initial: Int64?
    /// The final stock, `nil` when not given (then the chain's end is not checked).
    public var final: Int64?
    /// Acknowledged sales that touched the key.
    public var sales: Int
    /// Units those sales took.
    public var units: Int64
    /// Unknown-outcome orders that touched the key.
    public var unknownOrders: Int
    /// Of those, the ones whose units explain a gap in the chain (counted as sold).
    public var unknownOrdersSold: Int
    /// Sales that did not learn the stock left on this key, so have no place in its chain.
    public var unplacedSales: Int
    /// True when the chain was checked from the initial stock (to the final, when given).
    public var checked: Bool
    /// Why the chain was not checked, or what was not.
    public var note: String?
}

/// The witness's verdict: every key's chain, and the breaks found.
public struct WitnessResult: Sendable, Hashable, Codable {
    /// No violation found.
    public var passed: Bool
    /// Per key, in the order keys were first seen.
    public var keys: [WitnessKeyResult]
    /// The violations found, the first `violationLimit` of them.
    public var violations: [WitnessViolation]
    /// Every violation found, listed or not.
    public var violationCount: Int
}
