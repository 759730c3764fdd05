import Hiredis

/// The sales ledgers of a run, one per group (one for a single key): reset before a run, read back by the audit.
/// Every command names the keys of one group, so each goes to the one Redis Cluster slot of that group's hash tag.
struct StockLedger: Sendable {
    let layout: CatalogLayout

    /// Deletes each group's ledger and run hash, and writes the new run's metadata.
    ///
    /// - Parameter groups: the groups to reset (one owner's on a cluster); `nil` for every group.
    func resetCommands(
        runID: String, initialStock: Int64, configuration: SimulationConfiguration, groups: [Int]? = nil
    ) -> [RedisCommand] {
        (groups ?? Array(0..<layout.groups)).flatMap { group in
            let run = RedisArgument(layout.runKey(group: group))
            return [
                RedisCommand("DEL", RedisArgument(layout.ledgerKey(group: group)), run),
                RedisCommand(
                    "HSET", run, "run_id", RedisArgument(runID), "initial_stock", RedisArgument(initialStock),
                    "strategy", RedisArgument(configuration.strategy.rawValue), "workers",
                    RedisArgument(configuration.workers), "ledger_writes", 0),
            ]
        }
    }

    /// Reads every group's ledger with HSCAN (bounded replies, however large it is) and its write counter.
    ///
    /// A single key's entries are `ORDER → UNITS`; a catalog's `ORDER|SKU → UNITS/K`, K the SKUs of the order.
    ///
    /// - Throws: `RedisError` when Redis cannot be read.
    func read(on connection: RedisConnection) throws(RedisError) -> LedgerContents {
        try read { _ throws(RedisError) in connection }
    }

    /// Reads every group's ledger from the connection `route` gives for the group (its slot's owner on a cluster).
    ///
    /// Memory stays flat in the number of orders: entries are counted as they stream by, page after page, and not
    /// kept. HSCAN may return an entry twice only while the hash is rehashed, which after a run needs a write by
    /// another client; a scan that counts more entries than HLEN said is therefore read again, remembering every
    /// field. Carts are the one thing remembered per order (to find partial ones).
    ///
    /// - Throws: `RedisError` when Redis cannot be read.
    ///
    /// - Parameter skipped: groups not read (their owner is unreachable).
    func read(skipping skipped: Set<Int> = [], route: (Int) throws(RedisError) -> RedisConnection) throws(RedisError)
        -> LedgerContents
    {
        var result = LedgerContents(
            unitsBySKU: Array(repeating: 0, count: layout.skus), orders: 0, fields: 0, writes: 0, partialOrders: [],
            malformed: 0)
        let skuOfKey = Dictionary(uniqueKeysWithValues: (0..<layout.skus).map { (layout.stockKey($0), $0) })
        for group in 0..<layout.groups where !skipped.contains(group) {
            let connection = try route(group)
            let ledgerKey = layout.ledgerKey(group: group)
            let length = try connection.send("HLEN", RedisArgument(ledgerKey)).int ?? 0
            var page = try scan(ledgerKey, on: connection, remembering: false, skuOfKey: skuOfKey)
            if page.fields > length {
                page = try scan(ledgerKey, on: connection, remembering: true, skuOfKey: skuOfKey)
            }
            page.writes = Int(
                try connection.send("HGET", RedisArgument(layout.runKey(group: group)), "ledger_writes").int ?? 0)
            result.add(page)
        }
        return result
    }

    /// One group's ledger, scanned with HSCAN in pages of bounded size.
    ///
    /// - Parameter remembering: keep every field seen and count each once (for a hash being rehashed).
    private func scan(
        _ ledgerKey: String, on connection: RedisConnection, remembering: Bool, skuOfKey: [String: Int]
    ) throws(RedisError)
        -> LedgerContents
    {
        var result = LedgerContents(
            unitsBySKU: Array(repeating: 0, count: layout.skus), orders: 0, fields: 0, writes: 0, partialOrders: [],
            malformed: 0)
        var seen = Set<String>()
        var carts: [String: (expected: Int, found: Int)] = [:]
        try connection.scanHash(ledgerKey, count: 5000) { fieldBytes, valueBytes in
            guard let fieldBytes else { return }
            // A single key's own entry, ORDER → UNITS, read from the bytes: no String per entry. A field with a bar
            // (perhaps a user script's ORDER|KEY) or beyond ASCII takes the general path below.
            if !remembering, layout.isSingleKey, Self.isPlainOrder(fieldBytes) {
                result.fields += 1
                guard let units = Self.positiveInteger(valueBytes) else {
                    result.malformed += 1
                    return
                }
                result.unitsBySKU[0] += units
                result.units += units
                result.orders += 1
                return
            }
            guard let field = String(validating: fieldBytes, as: UTF8.self) else { return }
            if remembering, !seen.insert(field).inserted { return }
            result.fields += 1
            let value = valueBytes.flatMap { String(validating: $0, as: UTF8.self) } ?? ""
            guard let entry = Entry(field: field, value: value, layout: layout, skuOfKey: skuOfKey) else {
                result.malformed += 1
                return
            }
            result.unitsBySKU[entry.sku] += entry.units
            result.units += entry.units
            if entry.cartSize == 1 {
                result.orders += 1
            } else {
                carts[entry.order, default: (entry.cartSize, 0)].found += 1
            }
        }
        result.orders += carts.count
        result.partialOrders = carts.filter { $0.value.found < $0.value.expected }.map(\.key).sorted()
        return result
    }

    /// An ASCII field without a bar: an order id, never a user script's `ORDER|KEY`.
    private static func isPlainOrder(_ field: UnsafeRawBufferPointer) -> Bool {
        for byte in field where byte == UInt8(ascii: "|") || byte >= 0x80 { return false }
        return true
    }

    /// A value that `Int(_:)` reads as a positive integer (an optional `+`, then decimal digits), from its bytes.
    static func positiveInteger(_ bytes: UnsafeRawBufferPointer?) -> Int? {
        guard let bytes, let first = bytes.first else { return nil }
        var index = first == UInt8(ascii: "+") ? 1 : 0
        guard index < bytes.count else { return nil }
        var value = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (next, overflowedAgain) = times10.addingReportingOverflow(Int(digit))
            guard !overflowed, !overflowedAgain else { return nil }
            value = next
            index += 1
        }
        return value > 0 ? value : nil
    }

    /// One ledger entry, parsed.
    private struct Entry {
        var order: String
        var sku: Int
        var units: Int
        var cartSize: Int

        init?(field: String, value: String, layout: CatalogLayout, skuOfKey: [String: Int]) {
            // A user script's entry (contract v1): ORDER|STOCKKEY → UNITS/N.
            if let bar = field.firstIndex(of: "|"), let sku = skuOfKey[String(field[field.index(after: bar)...])] {
                let sizes = value.split(separator: "/")
                guard sizes.count == 2, let units = Int(sizes[0]), let cartSize = Int(sizes[1]), units > 0,
                    cartSize > 0
                else { return nil }
                self.order = String(field[..<bar])
                self.sku = sku
                self.units = units
                self.cartSize = cartSize
                return
            }
            if layout.isSingleKey {
                guard let units = Int(value), units > 0 else { return nil }
                self.order = field
                self.sku = 0
                self.units = units
                self.cartSize = 1
                return
            }
            let parts = field.split(separator: "|")
            let sizes = value.split(separator: "/")
            guard parts.count == 2, let sku = Int(parts[1]), sku >= 0, sku < layout.skus, sizes.count == 2,
                let units = Int(sizes[0]), let cartSize = Int(sizes[1]), units > 0, cartSize > 0
            else { return nil }
            self.order = String(parts[0])
            self.sku = sku
            self.units = units
            self.cartSize = cartSize
        }
    }
}
