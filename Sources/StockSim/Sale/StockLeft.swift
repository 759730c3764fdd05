/// The stock left on each SKU of an order right after its sale, where the strategy learned it (`watch`: the DECRBY
/// results inside EXEC; `lua`: the script's reply; `unsafe`: what it SET). One value is kept inline, so the single
/// SKU of most orders costs no allocation on the hot path.
enum StockLeft: Equatable {
    /// The strategy did not learn it (`decr`, or a sale found already recorded after a lost reply).
    case unknown
    /// The order's one SKU.
    case one(Int64)
    /// One value per SKU of a cart, in the order's SKU order.
    case each([Int64])

    /// The values in the order's SKU order: `.one` for a single value.
    init(_ values: [Int64]) {
        self = values.count == 1 ? .one(values[0]) : .each(values)
    }

    /// The stock left on the order's SKU at `index`, or `nil` when not known.
    func value(at index: Int) -> Int64? {
        switch self {
        case .unknown: nil
        case .one(let value): index == 0 ? value : nil
        case .each(let values): values.indices.contains(index) ? values[index] : nil
        }
    }
}

extension Strategy {
    /// Why the per-sale witness cannot check this strategy's chains, or `nil` when it can.
    var witnessUnchecked: String? {
        switch self {
        case .decr:
            "decr's DECRBY reply also counts other workers' refused decrements not yet given back, so the stock it sees left does not form a chain"
        case .watch, .lua, .unsafe, .script, .command: nil
        }
    }
}
