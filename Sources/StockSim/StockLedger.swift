public import Hiredis

/// The keys of one stock item, all in the stock key's Redis Cluster hash slot.
///
/// For `stock:count`: the ledger is `{stock:count}:ledger` and the run metadata `{stock:count}:run`. A key that
/// already has a hash tag (`{shop}:stock`) keeps it: `{shop}:stock:ledger`.
public struct StockKeys: Sendable, Hashable, Codable {
    public let stock: String
    /// A hash: order id → units. HSETNX makes a membership check O(1) and a second write of an id a no-op.
    public let ledger: String
    /// A hash of run metadata, including `ledger_writes`: every attempt to record an order, so that
    /// `ledger_writes − HLEN ledger` counts order ids recorded more than once.
    public let run: String

    init(stock: String, ledger: String, run: String) {
        self.stock = stock
        self.ledger = ledger
        self.run = run
    }

    public init(stock: String) {
        self.stock = stock
        let tagged = Self.hasHashTag(stock)
        ledger = tagged ? "\(stock):ledger" : "{\(stock)}:ledger"
        run = tagged ? "\(stock):run" : "{\(stock)}:run"
    }

    /// True when `key` contains a non-empty `{…}` hash tag, the part Redis Cluster hashes.
    static func hasHashTag(_ key: String) -> Bool {
        guard let open = key.firstIndex(of: "{"), let close = key[open...].firstIndex(of: "}") else { return false }
        return key.index(after: open) < close
    }
}

/// What the ledger holds, read back from Redis.
public struct LedgerContents: Sendable, Hashable, Codable {
    /// Distinct order ids recorded.
    public var orders: Int
    /// Units over all recorded orders.
    public var units: Int
    /// Attempts to record an order (HSETNX calls that ran); more than `orders` means an id was recorded twice.
    public var writes: Int
    /// Entries whose value is not a positive unit count.
    public var malformed: Int

    public init(orders: Int, units: Int, writes: Int, malformed: Int) {
        self.orders = orders
        self.units = units
        self.writes = writes
        self.malformed = malformed
    }
}

/// The sales ledger of one stock key: reset before a run, read back by the audit.
public struct StockLedger: Sendable {
    public let keys: StockKeys
    /// `HINCRBY run ledger_writes 1`, sent with every ledger write: the same command every time, encoded once.
    let countWrite: RedisCommand

    public init(keys: StockKeys) {
        self.keys = keys
        countWrite = RedisCommand("HINCRBY", RedisArgument(keys.run), "ledger_writes", 1)
    }

    /// The commands that record one order, queued inside the sale's transaction or script.
    func recordCommands(orderID: String, units: Int) -> [RedisCommand] {
        [
            RedisCommand("HSETNX", RedisArgument(keys.ledger), RedisArgument(orderID), RedisArgument(units)),
            countWrite,
        ]
    }

    /// Deletes the ledger and the run metadata, and writes the new run's metadata.
    func reset(on connection: RedisConnection, runID: String, initialStock: Int, configuration: SimulationConfiguration)
        throws(RedisError)
    {
        let replies = try connection.pipeline([
            RedisCommand("DEL", RedisArgument(keys.ledger), RedisArgument(keys.run)),
            RedisCommand(
                "HSET", RedisArgument(keys.run), "run_id", RedisArgument(runID), "initial_stock",
                RedisArgument(initialStock), "strategy", RedisArgument(configuration.strategy.rawValue), "workers",
                RedisArgument(configuration.workers), "ledger_writes", 0),
        ])
        if let refusal = replies.lazy.compactMap(\.errorReply).first {
            throw RedisError.server(refusal, command: "HSET \(keys.run)")
        }
    }

    /// Reads the whole ledger with HSCAN (bounded replies, however large it is) and the write counter.
    ///
    /// - Throws: `RedisError` when Redis cannot be read.
    public func read(on connection: RedisConnection) throws(RedisError) -> LedgerContents {
        var contents = LedgerContents(orders: 0, units: 0, writes: 0, malformed: 0)
        var cursor = "0"
        // HSCAN may return an entry twice while the hash is rehashed: count each order id once.
        var seen = Set<[UInt8]>()
        repeat {
            let reply = try connection.send(
                RedisCommand("HSCAN", RedisArgument(keys.ledger), RedisArgument(cursor), "COUNT", 1000))
            guard let page = reply.array, page.count == 2, let next = page[0].string, let fields = page[1].array else {
                throw RedisError(.protocolError, "HSCAN \(keys.ledger) answered \(reply), not a cursor and a page")
            }
            cursor = next
            var index = 1
            while index < fields.count {
                defer { index += 2 }
                guard seen.insert(fields[index - 1].bytes ?? []).inserted else { continue }
                contents.orders += 1
                if let units = fields[index].int, units > 0 {
                    contents.units += Int(units)
                } else {
                    contents.malformed += 1
                }
            }
        } while cursor != "0"
        contents.writes = Int(try connection.send("HGET", RedisArgument(keys.run), "ledger_writes").int ?? 0)
        return contents
    }
}
