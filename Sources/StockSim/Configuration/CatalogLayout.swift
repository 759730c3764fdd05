/// The stock keys of a run: `--skus N` dealt over `--groups G`, each group's keys under one hash tag.
///
/// A single-key run is a catalog of one SKU in one group, and keeps the single key's names: for key `stock:count`, the
/// stock key itself, the ledger `{stock:count}:ledger` and the run hash `{stock:count}:run` (see `StockKeys`).
/// With more SKUs, SKU 3 of group 1 is `{stock:count:g1}:sku:3`; group 1's ledger is `{stock:count:g1}:ledger` and its
/// run hash `{stock:count:g1}:run` (a `}` or `%` in the key is percent-encoded in the tag, as `%7D` or `%25`). An order draws all its SKUs from one group, so one Redis Cluster slot holds every
/// key an order touches.
public struct CatalogLayout: Sendable, Hashable {
    public let key: String
    public let skus: Int
    public let groups: Int
    /// Per group, a salt in its hash tag (`{KEY:g<g>.<salt>}`), chosen on a Redis Cluster of several masters so the
    /// groups land evenly on them (see `ClusterTopology`); empty otherwise, and the tags are today's `{KEY:g<g>}`.
    public let salts: [String]

    /// - Parameters:
    ///   - key: the `--key` the catalog's keys derive from.
    ///   - skus: how many stock keys (1 for a single-key run).
    ///   - groups: how many hash tags the SKUs are dealt into.
    ///   - salts: per group, the salt of its hash tag; empty for none.
    public init(key: String, skus: Int, groups: Int, salts: [String] = []) {
        self.key = key
        self.skus = skus
        self.groups = groups
        self.salts = salts.count == groups ? salts : []
    }

    /// True for a catalog of one SKU: its keys and ledger entries are a single stock key's.
    public var isSingleKey: Bool { skus == 1 }

    /// SKUs are dealt round-robin: SKU i belongs to group i mod G.
    public func group(of sku: Int) -> Int { sku % groups }
    /// The SKUs of a group, in rank order.
    public func skus(in group: Int) -> [Int] { Array(stride(from: group, to: skus, by: groups)) }
    /// `{KEY:g<g>}` (with the group's salt on a cluster: `{KEY:g<g>.<salt>}`); a `}` in KEY would end the tag early
    /// (`{a}b:g0}` hashes `a`, `{}b:g0}` hashes the whole key), so such a key's `%` and `}` are percent-encoded in the
    /// tag (and a key's `%`, so that `a}b` and `a%7Db` stay apart).
    func tag(_ group: Int) -> String {
        let name = key.contains("}") || key.contains("%") ? StockKeys.escapedForTag(key) : key
        return salts.isEmpty ? "{\(name):g\(group)}" : "{\(name):g\(group).\(salts[group])}"
    }
    /// The stock key of a SKU.
    public func stockKey(_ sku: Int) -> String { isSingleKey ? key : "\(tag(group(of: sku))):sku:\(sku)" }
    /// The ledger of a group: order id (or `ORDER|SKU` in a catalog) → units.
    public func ledgerKey(group: Int) -> String {
        isSingleKey ? StockKeys(stock: key).ledger : "\(tag(group)):ledger"
    }
    /// The run hash of a group, with its `ledger_writes` counter.
    public func runKey(group: Int) -> String { isSingleKey ? StockKeys(stock: key).run : "\(tag(group)):run" }
}
