/// What a worker still wants to buy: per group the SKUs it has not seen sold out (in rank order), and the groups with
/// enough of them for an order. A single-key run has one group of one SKU, and its orders draw nothing.
struct Demand {
    let layout: CatalogLayout
    let cartSize: Int
    let skew: Skew
    private var inStock: [[Int]]
    /// Groups with at least `cartSize` SKUs in stock.
    private var open: [Int]

    init(layout: CatalogLayout, cartSize: Int, skew: Skew) {
        self.layout = layout
        self.cartSize = cartSize
        self.skew = skew
        let inStock = (0..<layout.groups).map { layout.skus(in: $0) }
        self.inStock = inStock
        open = (0..<layout.groups).filter { inStock[$0].count >= cartSize }
    }

    /// The group of the next order, or `nil` when every group is sold out.
    func nextGroup(using random: inout some RandomNumberGenerator) -> Int? {
        open.count > 1 ? open.randomElement(using: &random) : open.first
    }

    /// The SKUs of the next order of `group`, drawn by the skew; with no choice to make, no draw.
    func skus(in group: Int, using random: inout some RandomNumberGenerator) -> [Int] {
        let candidates = inStock[group]
        return candidates.count == cartSize ? candidates : skew.draw(cartSize, from: candidates, using: &random)
    }

    /// A refusal showed `sku` below the smallest order: no order of this worker asks for it again.
    mutating func soldOut(_ sku: Int) {
        let group = layout.group(of: sku)
        inStock[group].removeAll { $0 == sku }
        if inStock[group].count < cartSize { open.removeAll { $0 == group } }
    }
}
