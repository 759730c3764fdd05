/// What the ledgers hold, read back from Redis: per SKU and per order.
public struct LedgerContents: Sendable, Hashable, Codable {
    /// Distinct order ids recorded.
    public var orders: Int
    /// Units over all recorded orders and SKUs.
    public var units: Int
    /// Attempts to record an entry (HSETNX calls that ran); more than `fields` means an entry was written twice.
    public var writes: Int
    /// Entries that do not hold a positive unit count (or name no SKU of the catalog).
    public var malformed: Int
    /// Ledger entries: one per order of a single key, one per SKU of a cart.
    public var fields: Int
    /// Units recorded per SKU.
    public var unitsBySKU: [Int]
    /// Orders with fewer ledger entries than the SKUs their cart named.
    public var partialOrders: [String]

    /// The contents of a single stock key's ledger, a catalog of one SKU: one entry per order.
    public init(orders: Int, units: Int, writes: Int, malformed: Int) {
        self.init(
            unitsBySKU: [units], orders: orders, fields: orders, writes: writes, partialOrders: [], malformed: malformed
        )
    }

    /// The contents of a catalog's ledgers.
    public init(unitsBySKU: [Int], orders: Int, fields: Int, writes: Int, partialOrders: [String], malformed: Int) {
        self.unitsBySKU = unitsBySKU
        self.units = unitsBySKU.reduce(0, +)
        self.orders = orders
        self.fields = fields
        self.writes = writes
        self.partialOrders = partialOrders
        self.malformed = malformed
    }

    /// Adds another group's contents (the same catalog's SKUs).
    mutating func add(_ other: LedgerContents) {
        for sku in unitsBySKU.indices where sku < other.unitsBySKU.count { unitsBySKU[sku] += other.unitsBySKU[sku] }
        units += other.units
        orders += other.orders
        fields += other.fields
        writes += other.writes
        malformed += other.malformed
        partialOrders += other.partialOrders
    }
}
