/// The per-sale witness: checks that a key's acknowledged sales form one chain from the initial stock down to the
/// final, which totals alone cannot show (two buyers that sold from the same stock balance the books if a third sale
/// was lost).
///
/// The rule, per key: sort the sales by the stock they left, highest first. The first sale's `stockLeft + units` is
/// the initial stock; each next sale's `stockLeft + units` is the previous sale's `stockLeft`; the last sale's
/// `stockLeft` is the final stock. Above it is an overlap (`stale-read`); below it, units taken that no sale accounts
/// for (`gap`, or `chain-start` / `chain-end` at the ends).
///
/// Unknown-outcome orders (a lost reply) may or may not have sold, and never say what they left. A gap of `g` units
/// is explained when unknown-outcome orders on that key, not used by an earlier gap, have units that sum to exactly
/// `g`; those orders count as sold. Gaps are filled from the top of the chain down, each with the first exact subset
/// found. Exact whenever the unknown orders on a key have equal units (the usual case); with mixed sizes a gap that
/// only another assignment could explain is reported. A cart's unknown outcome is judged on each key by itself.
///
/// Sales given here are kept in memory, 32 bytes a sale (stock left, units, worker, order), and sorted at `check`: a
/// history of a million sales takes about 40 MB. The driver's own runs do not come through here: `SaleRecords`
/// streams each key's sales from the workers' record files into the same chain check (`check(key:...)`), already
/// sorted, and keeps only a key whose workers' own sales are out of order for this in-memory path.
public struct Witness: Sendable {
    /// One sale on one key. `order` names it: for an id kept here, its index in `orders`; for a sale streamed from
    /// the records, its sequence (the namer makes `RUN:WORKER:SEQUENCE` of it).
    struct Link: Sendable {
        var stockLeft: Int64
        var units: Int64
        var order: Int64
        var worker: Int32
    }

    private struct Chain: Sendable {
        var initial: Int64?
        var final: Int64?
        var links: [Link] = []
        /// The units of each unknown-outcome order on the key.
        var unknown: [Int64] = []
        var unplaced = 0
    }

    private var chains: [String: Chain] = [:]
    private var keys: [String] = []
    /// Each order's id, 8 bytes a sale: for StockSim's own records (`recordSales`) the sequence of
    /// `RUN:WORKER:SEQUENCE`, written out only when a violation names the sale (most runs name none, so the driver
    /// formats no id per sale); for an id as given, `-1 - i` for `texts[i]`. Sequences are never negative.
    private var orders: [Int64] = []
    private var texts: [String] = []
    /// The run of the `.sequence` names.
    private var runID = ""

    /// An empty witness.
    public init() {}

    /// Sets a key's initial stock.
    /// - Parameters:
    ///   - stock: The stock before the first sale.
    ///   - key: The stock key.
    public mutating func setInitial(_ stock: Int64, for key: String) {
        update(key) { $0.initial = stock }
    }

    /// Sets a key's final stock.
    /// - Parameters:
    ///   - stock: The stock after the last sale, as read from Redis.
    ///   - key: The stock key.
    public mutating func setFinal(_ stock: Int64, for key: String) {
        update(key) { $0.final = stock }
    }

    /// Records an acknowledged sale: one link per key it touched.
    /// - Parameters:
    ///   - order: The order id.
    ///   - worker: The worker's index.
    ///   - lines: The order's lines in cart order.
    ///   - stockLeft: The stock left on each line's key after the sale, aligned with `lines`; `nil` where the seller
    ///     did not learn it (that key's chain then cannot be checked).
    public mutating func recordSale(order: String, worker: Int, lines: [OrderLine], stockLeft: [Int64?]) {
        let index = intern(order)
        for (position, line) in lines.enumerated() {
            let left = position < stockLeft.count ? stockLeft[position] : nil
            if let left {
                let link = Link(stockLeft: left, units: line.units, order: index, worker: Int32(clamping: worker))
                update(line.key) { $0.links.append(link) }
            } else {
                update(line.key) { $0.unplaced += 1 }
            }
        }
    }

    /// StockSim's own sales of one worker on one key, in one call: each `(sequence, units, stockLeft)` is the sale
    /// `RUN:WORKER:SEQUENCE`, its id formatted only if a violation names it (the driver's fast path over the workers'
    /// records).
    mutating func recordSales(
        _ sales: [(sequence: Int64, units: Int64, stockLeft: Int64)], worker: Int, runID: String, on key: String
    ) {
        guard !sales.isEmpty else { return }
        self.runID = runID
        let first = orders.count
        // append(contentsOf:) grows the arrays geometrically; reserving the exact size per call would copy them whole
        // for every worker.
        orders.append(contentsOf: sales.lazy.map { max(0, $0.sequence) })
        let workerIndex = Int32(clamping: worker)
        update(key) { chain in
            chain.links.append(
                contentsOf: sales.indices.lazy.map { offset in
                    Link(
                        stockLeft: sales[offset].stockLeft, units: sales[offset].units, order: Int64(first + offset),
                        worker: workerIndex)
                })
        }
    }

    /// Records an order whose outcome is unknown: it may have sold or not.
    /// - Parameter lines: The order's lines in cart order.
    public mutating func recordUnknown(lines: [OrderLine]) {
        for line in lines {
            update(line.key) { $0.unknown.append(line.units) }
        }
    }

    /// Checks every key's chain.
    /// - Parameter violationLimit: How many violations to list; all are counted.
    /// - Returns: The verdict per key and the violations.
    public consuming func check(violationLimit: Int = 100) -> WitnessResult {
        var tally = WitnessTally(violationLimit: violationLimit)
        for key in keys {
            // Taken out of the consumed witness, so the links are sorted in place, not copied (millions of them).
            guard var chain = chains.removeValue(forKey: key) else { continue }
            chain.links.sort {
                $0.stockLeft != $1.stockLeft ? $0.stockLeft > $1.stockLeft : $0.order < $1.order
            }
            var found: [WitnessViolation] = []
            let result = Self.check(
                key: key,
                tally: ChainTally(
                    initial: chain.initial, final: chain.final, sales: chain.links.count,
                    units: chain.links.reduce(0) { $0 + $1.units }, unknown: chain.unknown, unplaced: chain.unplaced),
                links: chain.links, name: sale, into: &found)
            tally.add(result, found)
        }
        return tally.result
    }

    /// What a key's chain check needs to know before it walks the sales.
    struct ChainTally {
        var initial: Int64?
        var final: Int64?
        /// Sales with a place in the chain (`links` holds them all).
        var sales: Int
        /// The units they took.
        var units: Int64
        /// The units of each unknown-outcome order on the key.
        var unknown: [Int64]
        /// Sales that did not learn the stock they left.
        var unplaced: Int
    }

    /// Checks one key's chain: the one rule, for sales kept here and for sales streamed from the workers' records.
    ///
    /// - Parameters:
    ///   - links: the key's sales sorted by the stock they left, highest first (ties in the order recorded); read
    ///     once, front to back.
    ///   - name: names a sale in a violation.
    static func check(
        key: String, tally chain: ChainTally, links: some Sequence<Link>, name sale: (Link) -> WitnessSale,
        into violations: inout [WitnessViolation]
    ) -> WitnessKeyResult {
        var result = WitnessKeyResult(
            key: key, initial: chain.initial, final: chain.final, sales: chain.sales + chain.unplaced,
            units: chain.units, unknownOrders: chain.unknown.count, unknownOrdersSold: 0,
            unplacedSales: chain.unplaced, checked: false, note: nil)
        guard let initial = chain.initial else {
            result.note = "no initial stock given: the chain was not checked"
            return result
        }
        guard chain.unplaced == 0 else {
            result.note =
                "\(NumberText.count(chain.unplaced, "sale")) did not learn the stock they left: the chain was not checked"
            return result
        }
        result.checked = true
        if chain.final == nil { result.note = "no final stock given: the chain's end was not checked" }
        var pool = UnknownPool(chain.unknown)
        var previous: Link?
        func record(_ kind: WitnessViolation.Kind, later: Link?, _ detail: String) {
            violations.append(
                WitnessViolation(kind, key: key, earlier: previous.map(sale), later: later.map(sale), detail: detail))
        }
        for link in links {
            if link.stockLeft < 0 {
                violations.append(
                    WitnessViolation(
                        .oversell, key: key, earlier: nil, later: sale(link),
                        detail: "\(sale(link)): below zero, \(units(-link.stockLeft)) oversold"))
            }
            let from = link.stockLeft + link.units
            let above = previous?.stockLeft ?? initial
            // Named only when a violation needs it: formatting an id per sale would cost more than the check.
            if from > above {
                let what = sale(link)
                if let previous {
                    record(
                        .staleRead, later: link,
                        "\(what) sold from a stock of \(from), but \(sale(previous)) had already left only \(above): \(units(from - above)) sold twice"
                    )
                } else {
                    record(
                        .chainStart, later: link,
                        "the first sale, \(what), sold from a stock of \(from), above the initial stock of \(initial)")
                }
            } else if from < above, !pool.explain(above - from) {
                let what = sale(link)
                let taken = units(above - from)
                if let previous {
                    record(
                        .gap, later: link,
                        "\(taken) taken between \(sale(previous)) and \(what) that no sale accounts for\(pool.summary)")
                } else {
                    record(
                        .chainStart, later: link,
                        "\(taken) taken from the initial stock of \(initial) before the first sale, \(what), that no sale accounts for\(pool.summary)"
                    )
                }
            }
            previous = link
        }
        if let final = chain.final {
            let bottom = previous?.stockLeft ?? initial
            let last = previous.map { "the last sale, \(sale($0))" } ?? "no sale"
            if final > bottom {
                record(
                    .chainEnd, later: nil,
                    "\(last), but the final stock is \(final): \(units(final - bottom)) came back from outside the sales"
                )
            } else if final < bottom, !pool.explain(bottom - final) {
                record(
                    .chainEnd, later: nil,
                    "\(last) (initial stock \(initial)), but the final stock is \(final): \(units(bottom - final)) taken that no sale accounts for\(pool.summary)"
                )
            }
        }
        result.unknownOrdersSold = pool.used
        return result
    }

    private static func units(_ count: Int64) -> String { NumberText.count(count, "unit") }

    private func sale(_ link: Link) -> WitnessSale {
        let name = orders[Int(link.order)]
        let order = name < 0 ? texts[Int(-1 - name)] : "\(runID):\(link.worker):\(name)"
        return WitnessSale(order: order, worker: Int(link.worker), stockLeft: link.stockLeft, units: link.units)
    }

    private mutating func intern(_ order: String) -> Int64 {
        texts.append(order)
        orders.append(-Int64(texts.count))
        return Int64(orders.count - 1)
    }

    /// Changes a key's chain, starting it (and remembering the key's place) the first time the key is seen.
    private mutating func update(_ key: String, _ change: (inout Chain) -> Void) {
        if chains[key] == nil { keys.append(key) }
        change(&chains[key, default: Chain()])
    }
}

/// Adds up the keys' verdicts: every violation counted, the first `violationLimit` listed.
struct WitnessTally {
    let violationLimit: Int
    private var violations: [WitnessViolation] = []
    private var count = 0
    private var keys: [WitnessKeyResult] = []

    init(violationLimit: Int) {
        self.violationLimit = violationLimit
    }

    /// One key's verdict and the violations found on it.
    mutating func add(_ key: WitnessKeyResult, _ found: [WitnessViolation]) {
        count += found.count
        violations.append(contentsOf: found.prefix(max(0, violationLimit - violations.count)))
        keys.append(key)
    }

    /// Adds every key of a result.
    mutating func add(_ result: WitnessResult) {
        count += result.violationCount
        violations.append(contentsOf: result.violations.prefix(max(0, violationLimit - violations.count)))
        keys.append(contentsOf: result.keys)
    }

    var result: WitnessResult {
        WitnessResult(passed: count == 0, keys: keys, violations: violations, violationCount: count)
    }
}

/// The unknown-outcome orders of one key not yet used to explain a gap.
private struct UnknownPool {
    private var units: [Int64]
    private(set) var used = 0

    /// Past this many subset-sum cells the pool takes the largest orders that fit instead of searching exactly.
    private static let searchLimit = 4_000_000

    init(_ unknown: [Int64]) {
        units = unknown.sorted(by: >)
    }

    /// Removes orders whose units sum to exactly `gap` and says whether there were such.
    mutating func explain(_ gap: Int64) -> Bool {
        guard gap > 0, !units.isEmpty, units.reduce(0, +) >= gap else { return false }
        if let first = units.first, units.allSatisfy({ $0 == first }) {
            guard gap % first == 0 else { return false }
            take(Array(0..<Int(gap / first)))
            return true
        }
        if gap <= Int64(min(1_000_000, Self.searchLimit / max(1, units.count))), let chosen = exactSubset(Int(gap)) {
            take(chosen)
            return true
        }
        // Too large to search: the largest orders that still fit, first.
        var left = gap
        var chosen: [Int] = []
        for (index, size) in units.enumerated() where size <= left {
            chosen.append(index)
            left -= size
            if left == 0 { break }
        }
        guard left == 0 else { return false }
        take(chosen)
        return true
    }

    /// Indices of orders summing to `target`, by 0/1 subset sum; `nil` when none.
    private func exactSubset(_ target: Int) -> [Int]? {
        // reachedBy[s]: the first item that reached sum s (items before it reached s − its units).
        var reachedBy = [Int32](repeating: -1, count: target + 1)
        for (index, size) in units.enumerated() where size <= target {
            let size = Int(size)
            var sum = target
            while sum >= size {
                if reachedBy[sum] < 0 && (sum == size || reachedBy[sum - size] >= 0) {
                    reachedBy[sum] = Int32(index)
                }
                sum -= 1
            }
            if reachedBy[target] >= 0 { break }
        }
        guard reachedBy[target] >= 0 else { return nil }
        var chosen: [Int] = []
        var sum = target
        while sum > 0 {
            let index = Int(reachedBy[sum])
            chosen.append(index)
            sum -= Int(units[index])
        }
        return chosen
    }

    private mutating func take(_ indices: [Int]) {
        for index in indices.sorted(by: >) { units.remove(at: index) }
        used += indices.count
    }

    /// What the pool held for the message.
    var summary: String {
        units.isEmpty
            ? ""
            : " (\(NumberText.count(units.count, "unknown-outcome order")) of \(NumberText.count(units.reduce(0, +), "unit")) did not fit it)"
    }
}
