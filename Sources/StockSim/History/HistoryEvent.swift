/// One event of an order's life in a history, the shape of a Jepsen or Porcupine operation: an `invoke` before the
/// order is sent, then one completion: `ok` (sold), `fail` (definitely not sold) or `info` (unknown outcome).
///
/// One JSON object per line, keys in snake_case (`HistoryWriter` sorts them):
/// `{"host":null,"order":"RUN:3:17","stock_left":[98],"time_ns":123456789,"type":"ok",`
/// `"units":[{"key":"stock:count","units":2}],"worker":3}`. `host` is optional (absent or null for a local run); `units` is
/// required on `invoke` and may be left off a completion, which then means the invoke's; `stock_left` (on `ok` only)
/// is aligned with `units`, one entry per key, `null` where the seller did not learn it; `reason` is required on
/// `fail`; `error` is optional text on `fail` and `info`.
public struct HistoryEvent: Sendable, Hashable, Codable {
    /// What happened to the order.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The order is about to be sent.
        case invoke
        /// Sold: every line of the order was taken.
        case ok
        /// Definitely not sold: nothing of the order was taken.
        case fail
        /// Unknown outcome: the order may or may not have been sold (a lost reply).
        case info
    }

    /// Why a `fail` did not sell.
    public enum FailReason: String, Sendable, Hashable, Codable, CaseIterable {
        /// Refused: not enough stock left for some line of the order.
        case outOfStock = "out-of-stock"
        /// Given up after the allowed attempts (conflicts); nothing was taken.
        case gaveUp = "gave-up"
        /// An error known to have run nothing (a refused command, a connection that failed before sending).
        case error
    }

    public var type: Kind
    /// The worker's index in its run.
    public var worker: Int
    /// The host the worker ran on; `nil` for a local run.
    public var host: String?
    /// The order id, `RUN:WORKER:SEQ` for StockSim's own orders; any unique text for other clients.
    public var order: String
    /// The order's lines in cart order; `nil` on a completion that repeats its invoke's.
    public var units: [OrderLine]?
    /// On `ok`: the stock left on each key after the sale, aligned with `units`; `nil` entries where not known.
    public var stockLeft: [Int64?]?
    /// CLOCK_MONOTONIC nanoseconds when the event happened.
    public var timeNanoseconds: UInt64
    /// On `fail`: why nothing was sold.
    public var reason: FailReason?
    /// On `fail` and `info`: the error's text.
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case type, worker, host, order, units
        case stockLeft = "stock_left"
        case timeNanoseconds = "time_ns"
        case reason, error
    }

    /// An event; prefer the constructors `invoke`, `ok`, `fail` and `info`.
    /// - Parameters:
    ///   - type: What happened.
    ///   - worker: The worker's index.
    ///   - host: The worker's host, `nil` for a local run.
    ///   - order: The order id.
    ///   - units: The order's lines in cart order, or `nil` on a completion that repeats its invoke's.
    ///   - stockLeft: On `ok`, the stock left per line.
    ///   - timeNanoseconds: CLOCK_MONOTONIC nanoseconds.
    ///   - reason: On `fail`, why.
    ///   - error: On `fail` and `info`, the error's text.
    public init(
        type: Kind, worker: Int, host: String? = nil, order: String, units: [OrderLine]?, stockLeft: [Int64?]? = nil,
        timeNanoseconds: UInt64, reason: FailReason? = nil, error: String? = nil
    ) {
        self.type = type
        self.worker = worker
        self.host = host
        self.order = order
        self.units = units
        self.stockLeft = stockLeft
        self.timeNanoseconds = timeNanoseconds
        self.reason = reason
        self.error = error
    }

    /// The order is about to be sent.
    /// - Parameters:
    ///   - order: The order id.
    ///   - units: The order's lines in cart order.
    ///   - worker: The worker's index.
    ///   - host: The worker's host, `nil` for a local run.
    ///   - time: CLOCK_MONOTONIC nanoseconds.
    public static func invoke(
        order: String, units: [OrderLine], worker: Int, host: String? = nil, time: UInt64
    ) -> HistoryEvent {
        HistoryEvent(type: .invoke, worker: worker, host: host, order: order, units: units, timeNanoseconds: time)
    }

    /// The order sold.
    /// - Parameters:
    ///   - order: The order id.
    ///   - units: The order's lines in cart order.
    ///   - stockLeft: The stock left on each line's key after the sale, `nil` where not known.
    ///   - worker: The worker's index.
    ///   - host: The worker's host, `nil` for a local run.
    ///   - time: CLOCK_MONOTONIC nanoseconds.
    public static func ok(
        order: String, units: [OrderLine], stockLeft: [Int64?], worker: Int, host: String? = nil, time: UInt64
    ) -> HistoryEvent {
        HistoryEvent(
            type: .ok, worker: worker, host: host, order: order, units: units, stockLeft: stockLeft,
            timeNanoseconds: time)
    }

    /// The order definitely did not sell.
    /// - Parameters:
    ///   - order: The order id.
    ///   - units: The order's lines in cart order.
    ///   - reason: Why it did not sell.
    ///   - error: The error's text, if any.
    ///   - worker: The worker's index.
    ///   - host: The worker's host, `nil` for a local run.
    ///   - time: CLOCK_MONOTONIC nanoseconds.
    public static func fail(
        order: String, units: [OrderLine], reason: FailReason, error: String? = nil, worker: Int,
        host: String? = nil, time: UInt64
    ) -> HistoryEvent {
        HistoryEvent(
            type: .fail, worker: worker, host: host, order: order, units: units, timeNanoseconds: time,
            reason: reason, error: error)
    }

    /// The order's outcome is unknown: it may or may not have sold.
    /// - Parameters:
    ///   - order: The order id.
    ///   - units: The order's lines in cart order.
    ///   - error: What was lost (the error's text).
    ///   - worker: The worker's index.
    ///   - host: The worker's host, `nil` for a local run.
    ///   - time: CLOCK_MONOTONIC nanoseconds.
    public static func info(
        order: String, units: [OrderLine], error: String?, worker: Int, host: String? = nil, time: UInt64
    ) -> HistoryEvent {
        HistoryEvent(
            type: .info, worker: worker, host: host, order: order, units: units, timeNanoseconds: time, error: error)
    }

    /// Writes `host` as null when absent, so every event has the same required fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(worker, forKey: .worker)
        try container.encode(host, forKey: .host)
        try container.encode(order, forKey: .order)
        try container.encodeIfPresent(units, forKey: .units)
        try container.encodeIfPresent(stockLeft, forKey: .stockLeft)
        try container.encode(timeNanoseconds, forKey: .timeNanoseconds)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encodeIfPresent(error, forKey: .error)
    }
}
