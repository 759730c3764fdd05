import Hiredis

/// The keys and fixed commands of a run's sales, encoded once per worker: per SKU its stock key, per group its ledger,
/// its run hash and the write counter's command. It also writes an order's ledger entries: a single-key run records
/// `ORDER → UNITS`, a catalog `ORDER|SKU → UNITS/K`, one field per SKU of a cart of K.
struct SaleKeys {
    let layout: CatalogLayout
    /// False with `--no-ledger`: nothing is recorded and no order can be verified.
    let recordsLedger: Bool
    /// Per SKU.
    let stock: [RedisArgument]
    /// Per group.
    let ledger: [RedisArgument]
    /// Per group.
    let run: [RedisArgument]
    /// Per group: `HINCRBY run ledger_writes K`, sent with every recorded order of K SKUs.
    let countWrite: [RedisCommand]
    /// Per group: `HSETNX ledger`, encoded once; each order appends its field and value.
    let recordEntry: [RedisCommandPrefix]

    /// - Parameters:
    ///   - layout: the run's keys.
    ///   - cartSize: SKUs per order.
    ///   - recordsLedger: whether sales are recorded.
    init(layout: CatalogLayout, cartSize: Int, recordsLedger: Bool) {
        self.layout = layout
        self.recordsLedger = recordsLedger
        stock = (0..<layout.skus).map { RedisArgument(layout.stockKey($0)) }
        ledger = (0..<layout.groups).map { RedisArgument(layout.ledgerKey(group: $0)) }
        run = (0..<layout.groups).map { RedisArgument(layout.runKey(group: $0)) }
        countWrite = run.map { RedisCommand("HINCRBY", $0, "ledger_writes", RedisArgument(cartSize)) }
        recordEntry = ledger.map { RedisCommandPrefix("HSETNX", $0) }
    }

    /// The ledger field of the order's SKU at `index`.
    func field(_ order: Order, at index: Int) -> RedisArgument {
        layout.isSingleKey ? RedisArgument(order.id) : RedisArgument(order.id + "|" + String(order.skus[index]))
    }

    /// The value of each of the order's ledger fields.
    func entry(_ order: Order) -> RedisArgument {
        layout.isSingleKey
            ? RedisArgument(order.units) : RedisArgument(String(order.units) + "/" + String(order.skus.count))
    }

    /// The commands that record one order, queued inside the sale's transaction or sent after it; none without a
    /// ledger.
    func recordCommands(_ order: Order) -> [RedisCommand] {
        var commands: [RedisCommand] = []
        appendRecordCommands(order, to: &commands)
        return commands
    }

    /// Appends the commands that record one order to `commands` (the hot path: no array of its own).
    func appendRecordCommands(_ order: Order, to commands: inout [RedisCommand]) {
        guard recordsLedger else { return }
        commands.reserveCapacity(commands.count + order.skus.count + 1)
        let value = entry(order)
        let prefix = recordEntry[order.group]
        for index in order.skus.indices { commands.append(prefix.command(field(order, at: index), value)) }
        commands.append(countWrite[order.group])
    }

    /// `HEXISTS` of the order's first ledger field: whether an earlier attempt whose reply was lost committed.
    func recordedCheck(_ order: Order) -> RedisCommand {
        RedisCommand("HEXISTS", ledger[order.group], field(order, at: 0))
    }

    /// The read of the order's stock: `GET` of its one key, or `MGET` of its keys (one hash tag, one slot).
    func stockRead(_ order: Order) -> RedisCommand {
        order.skus.count == 1
            ? RedisCommand("GET", stock[order.skus[0]])
            : RedisCommand([RedisArgument("MGET")] + order.skus.map { stock[$0] })
    }

    /// What `stockRead` answered, as one value per SKU of the order.
    ///
    /// - Throws: `StockKeyError` when a key is missing or not an integer; `RedisError` for a reply of the wrong shape.
    func stockValues(_ reply: RedisReply, of order: Order) throws -> [Int64] {
        if order.skus.count == 1 { return [try StockKeyError.value(reply, key: layout.stockKey(order.skus[0]))] }
        guard let elements = reply.array, elements.count == order.skus.count else {
            throw RedisError(.protocolError, "MGET answered \(reply), not \(order.skus.count) values")
        }
        return try zip(order.skus, elements).map { sku, element in
            try StockKeyError.value(element, key: layout.stockKey(sku))
        }
    }

    /// Checks what `stockRead` answered against the order without building anything when every SKU has enough.
    ///
    /// - Returns: `nil` when every SKU has the order's units; otherwise what each SKU has.
    func shortfall(_ reply: RedisReply, of order: Order) throws -> [Int64]? {
        if order.skus.count == 1 {
            let value = try StockKeyError.value(reply, key: layout.stockKey(order.skus[0]))
            return value >= order.units ? nil : [value]
        }
        let values = try stockValues(reply, of: order)
        return values.allSatisfy { $0 >= order.units } ? nil : values
    }
}
