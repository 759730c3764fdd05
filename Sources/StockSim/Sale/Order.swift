/// One order: `units` of each SKU in `skus`, all from one group, taken all or none. A single-key run's orders name
/// its one SKU, 0.
struct Order {
    /// `RUN:WORKER:SEQUENCE`, the ledger's field for the order; empty when the run keeps no ledger.
    var id: String
    /// Units of each SKU.
    var units: Int
    /// Distinct SKUs, all of `group`.
    var skus: [Int]
    var group: Int

    /// Units over every SKU of the order.
    var totalUnits: Int { units * skus.count }
}
