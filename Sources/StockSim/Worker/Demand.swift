/// What a worker still wants to buy: per group the SKUs it has not seen sold out (in rank order), and the groups with
/// enough of them for an order. A single-key run has one group of one SKU, and its orders draw nothing.
///
/// Demand runs out in bounded time: every SKU has a ceiling, the largest order it could still fill, which starts at
/// the largest order size and drops to what a refusal showed left (stock only decreases during a run). Order sizes are
/// drawn up to the smallest ceiling of the order's SKUs, and an SKU whose ceiling is below the smallest order size is
/// never asked for again. A refusal means some SKU had fewer units than the order, so it lowers at least one ceiling
/// strictly: a worker sees at most one refusal per unit of stock per SKU, plus one.
struct Demand {
    let layout: CatalogLayout
    let cartSize: Int
    let skew: Skew
    let sizes: ClosedRange<Int>
    private var inStock: [[Int]]
    /// Per SKU, the largest order that could still be filled.
    private var ceiling: [Int]
    /// Groups with at least `cartSize` SKUs in stock.
    private var open: [Int]

    init(layout: CatalogLayout, cartSize: Int, skew: Skew, sizes: ClosedRange<Int> = 1...1) {
        self.layout = layout
        self.cartSize = cartSize
        self.skew = skew
        self.sizes = sizes
        ceiling = Array(repeating: sizes.upperBound, count: layout.skus)
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

    /// The units of an order of `skus`: uniform from the smallest size to the smallest ceiling among them; with no
    /// choice to make, no draw.
    func units(for skus: [Int], using random: inout some RandomNumberGenerator) -> Int {
        let top = skus.reduce(sizes.upperBound) { min($0, ceiling[$1]) }
        return top <= sizes.lowerBound ? sizes.lowerBound : Int.random(in: sizes.lowerBound...top, using: &random)
    }

    /// A refusal of an order of `skus` showed what each had left: lower their ceilings, and stop asking for those
    /// below the smallest order size.
    mutating func refused(_ skus: [Int], remaining: [Int64]) {
        for (sku, left) in zip(skus, remaining) where left < Int64(ceiling[sku]) {
            ceiling[sku] = Int(max(left, 0))
            if ceiling[sku] < sizes.lowerBound { soldOut(sku) }
        }
    }

    /// A refusal showed `sku` below the smallest order: no order of this worker asks for it again.
    private mutating func soldOut(_ sku: Int) {
        let group = layout.group(of: sku)
        inStock[group].removeAll { $0 == sku }
        if inStock[group].count < cartSize { open.removeAll { $0 == group } }
    }
}
