/// One line of one order event, as a worker writes it to its record file: fixed size, so a worker appends it with a
/// few stores and the driver reads a file as an array. A cart's event is one record per SKU, in cart order, all with
/// the order's sequence number.
struct SaleRecord: BitwiseCopyable, Equatable {
    /// What happened to the order.
    enum Kind: UInt8 {
        /// About to be sent (recorded only when the driver needs it: a history, or workers that may be killed).
        case invoke = 0
        /// Sold; `stockLeft` is what the SKU had right after, or `SaleRecord.unknownLeft`.
        case sold = 1
        /// Refused as out of stock.
        case refused = 2
        /// Given up after the allowed attempts.
        case gaveUp = 3
        /// Unknown outcome: a lost reply nobody could resolve, or an error that ended the worker mid-order.
        case unknown = 4
        /// Sold, found in the ledger after a lost reply: where it stands in the chain nobody saw.
        case recovered = 5
    }

    /// `stockLeft` of a sale whose seller did not learn it.
    static let unknownLeft = Int64.min

    /// The order's sequence number in its worker: the id is `RUN:WORKER:SEQUENCE`.
    var sequence: Int64
    /// CLOCK_MONOTONIC nanoseconds, or 0 when the run keeps no history.
    var time: UInt64
    /// Sold: the stock left; refused: what the SKU had; otherwise `unknownLeft`.
    var stockLeft: Int64
    var sku: Int32
    var units: Int32
    var rawKind: UInt8

    var kind: Kind? { Kind(rawValue: rawKind) }

    init(_ kind: Kind, sequence: Int, time: UInt64, sku: Int, units: Int, stockLeft: Int64?) {
        self.sequence = Int64(sequence)
        self.time = time
        self.stockLeft = stockLeft ?? Self.unknownLeft
        self.sku = Int32(truncatingIfNeeded: sku)
        self.units = Int32(truncatingIfNeeded: units)
        rawKind = kind.rawValue
    }
}
