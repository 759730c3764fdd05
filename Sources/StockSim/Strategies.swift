import Hiredis

/// How one order ended; `Remaining` is what the strategy saw of the stock (one count, or one per SKU of a cart).
enum SaleOutcome<Remaining: Equatable>: Equatable {
    /// The units were taken (and recorded, with a ledger).
    case sold(attempts: Int, conflicts: Int)
    /// Fewer units were left than the order asked for.
    case outOfStock(remaining: Remaining, attempts: Int, conflicts: Int)
    /// `watch` only: every attempt the retry policy allowed conflicted.
    case gaveUp(attempts: Int, conflicts: Int)
    /// A retry after an unknown outcome found the order already in the ledger: the lost reply was a commit.
    case alreadyRecorded(attempts: Int, conflicts: Int)

    /// True for a sale, made now or found already recorded.
    var tookStock: Bool {
        switch self {
        case .sold, .alreadyRecorded: true
        case .outOfStock, .gaveUp: false
        }
    }

    /// The outcome of a `watch` transaction whose body aborts with `nil` for "already recorded" and with what it
    /// saw for "out of stock".
    ///
    /// - Throws: `RedisError` when a command inside EXEC was refused.
    init(_ result: TransactionResult<Remaining?>) throws {
        switch result.outcome {
        case .committed(let results, _):
            if let refusal = results.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "DECRBY inside EXEC")
            }
            self = .sold(attempts: result.attempts, conflicts: result.conflicts)
        case .aborted(nil):
            self = .alreadyRecorded(attempts: result.attempts, conflicts: result.conflicts)
        case .aborted(let remaining?):
            self = .outOfStock(remaining: remaining, attempts: result.attempts, conflicts: result.conflicts)
        case .exhausted:
            self = .gaveUp(attempts: result.attempts, conflicts: result.conflicts)
        }
    }
}

/// A single-key order's outcome.
typealias OrderOutcome = SaleOutcome<Int64>

/// A failure of the data in Redis rather than of the connection: the stock key went missing or holds a non-integer.
struct StockKeyError: Error, CustomStringConvertible {
    var description: String
}

/// One way to take units from the stock, bound to the keys and commands it needs (built once per worker).
protocol SaleStrategy {
    /// Places one order for `units` units on `connection`.
    ///
    /// - Parameter verify: the previous attempt at this order ended with an unknown outcome: check the ledger for
    ///   the order id before selling it again (strategies that can, do; see `canVerify`).
    /// - Throws: `RedisError` for connection and server failures; `StockKeyError` when the stock key is unusable.
    func place(orderID: String, units: Int, verify: Bool, on connection: RedisConnection) throws -> OrderOutcome

    /// True when an order whose reply was lost can be resolved by asking the ledger, so retrying it is safe.
    var canVerify: Bool { get }
}

extension Strategy {
    /// The implementation of this strategy for the given keys.
    func makeSale(
        keys: StockKeys, ledger: Bool, policy: RetryPolicy, scriptSHA: String, quantities: ClosedRange<Int> = 1...1
    ) -> any SaleStrategy {
        switch self {
        case .watch: WatchSale(keys: keys, ledger: ledger, policy: policy)
        case .lua: LuaSale(keys: keys, ledger: ledger, sha: scriptSHA, quantities: quantities)
        case .decr: DecrSale(keys: keys, ledger: ledger)
        case .unsafe: UnsafeSale(keys: keys, ledger: ledger)
        }
    }
}

/// Sends an EVALSHA of a stock script. NOSCRIPT (after SCRIPT FLUSH or a restart) means the script did not run, so
/// it is loaded again and the same call sent once more; the script's own refusals become `StockKeyError`.
func evalStockScript(
    _ evalsha: RedisCommand, on connection: RedisConnection,
    reload: (RedisConnection) throws(RedisError) -> String
) throws -> RedisReply {
    var reply = try connection.request(evalsha)
    if case .error(let error) = reply, error.code == "NOSCRIPT" {
        _ = try reload(connection)
        reply = try connection.request(evalsha)
    }
    if case .error(let error) = reply {
        if error.code == "NOSTOCK" || error.code == "NOTINT" { throw StockKeyError(description: error.message) }
        throw RedisError.server(error, command: "EVALSHA")
    }
    return reply
}

/// Reads a stock value, naming what is wrong when it is not an integer.
func stockValue(_ reply: RedisReply, key: String) throws(StockKeyError) -> Int64 {
    if let value = reply.int { return value }
    if reply.isNull {
        throw StockKeyError(description: "the stock key '\(key)' does not exist (was it deleted?)")
    }
    throw StockKeyError(description: "the stock key '\(key)' holds \(reply), not an integer")
}

/// WATCH, GET, and if enough units remain, MULTI / DECRBY / ledger entry / EXEC, through the wrapper's transaction
/// helper, which retries conflicts under the policy.
struct WatchSale: SaleStrategy {
    let keys: StockKeys
    let ledger: StockLedger?
    let transaction: OptimisticTransaction

    init(keys: StockKeys, ledger: Bool, policy: RetryPolicy) {
        self.keys = keys
        self.ledger = ledger ? StockLedger(keys: keys) : nil
        self.transaction = OptimisticTransaction(
            watching: [RedisArgument(keys.stock)], read: RedisCommand("GET", RedisArgument(keys.stock)), policy: policy)
    }

    var canVerify: Bool { ledger != nil }

    func place(orderID: String, units: Int, verify: Bool, on connection: RedisConnection) throws -> OrderOutcome {
        let decrement = RedisCommand("DECRBY", RedisArgument(keys.stock), RedisArgument(units))
        let commands = [decrement] + (ledger?.recordCommands(orderID: orderID, units: units) ?? [])
        // Only a retry after a lost reply asks the ledger.
        let check =
            verify ? ledger.map { RedisCommand("HEXISTS", RedisArgument($0.keys.ledger), RedisArgument(orderID)) } : nil
        let result = try connection.run(transaction) { attempt throws -> TransactionDecision<Int64?> in
            let remaining = try stockValue(attempt.read, key: keys.stock)
            // Under the same WATCH: every committed order changes the stock key, so if the lost EXEC were still to
            // commit, this transaction would conflict and the next attempt would find the entry.
            if let check, try attempt.connection.send(check).int == 1 { return .abort(nil) }
            return remaining >= units ? .commit(commands, remaining) : .abort(remaining)
        }
        return try OrderOutcome(result)
    }
}

/// One EVALSHA of a check-and-decrement script that also writes the ledger. The script is loaded once per
/// connection and reloaded on NOSCRIPT (after SCRIPT FLUSH or a server restart).
struct LuaSale: SaleStrategy {
    /// One key and one argument without a ledger (`EVALSHA sha 1 stock units`), three keys and two with one
    /// (`… 3 stock ledger run units order`). It answers an integer, the cheapest reply: the stock left after a sale,
    /// or −1 − remaining when the order is refused; `RECORDED` when the order id is already in the ledger.
    static let script = """
        local v = redis.call('GET', KEYS[1])
        if not v then return redis.error_reply('NOSTOCK the stock key ' .. KEYS[1] .. ' does not exist') end
        local n = tonumber(v)
        if not n then return redis.error_reply('NOTINT the stock key ' .. KEYS[1] .. ' holds ' .. v .. ', not an integer') end
        if ARGV[2] and redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return redis.status_reply('RECORDED') end
        local q = tonumber(ARGV[1])
        if n < q then
          if n < 0 then n = 0 end
          return -1 - n
        end
        local left = redis.call('DECRBY', KEYS[1], ARGV[1])
        if ARGV[2] then
          redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1])
          redis.call('HINCRBY', KEYS[3], 'ledger_writes', 1)
        end
        return left
        """
    let keys: StockKeys
    let ledger: Bool
    /// The script's SHA1, as the driver's `SCRIPT LOAD` returned it.
    let sha: String
    /// Without a ledger every call for the same quantity is the same command: built once, indexed by quantity minus
    /// `smallest`.
    private let unrecorded: [RedisCommand]
    private let smallest: Int

    init(keys: StockKeys, ledger: Bool, sha: String, quantities: ClosedRange<Int> = 1...1) {
        self.keys = keys
        self.ledger = ledger
        self.sha = sha
        smallest = quantities.lowerBound
        unrecorded =
            ledger || quantities.count > 1024
            ? []
            : quantities.map {
                RedisCommand("EVALSHA", RedisArgument(sha), 1, RedisArgument(keys.stock), RedisArgument($0))
            }
    }

    /// Loads the script on the server and returns its SHA1.
    static func load(on connection: RedisConnection) throws(RedisError) -> String {
        let reply = try connection.send("SCRIPT", "LOAD", RedisArgument(script))
        guard let sha = reply.string, sha.count == 40 else {
            throw RedisError(.protocolError, "SCRIPT LOAD answered \(reply), not a SHA1")
        }
        return sha
    }

    /// The script refuses an order id already in the ledger, so sending the same call again is always safe.
    var canVerify: Bool { ledger }

    func place(orderID: String, units: Int, verify: Bool, on connection: RedisConnection) throws -> OrderOutcome {
        let evalsha =
            ledger
            ? RedisCommand(
                "EVALSHA", RedisArgument(sha), 3, RedisArgument(keys.stock), RedisArgument(keys.ledger),
                RedisArgument(keys.run), RedisArgument(units), RedisArgument(orderID))
            : unrecorded.indices.contains(units - smallest)
                ? unrecorded[units - smallest]
                : RedisCommand("EVALSHA", RedisArgument(sha), 1, RedisArgument(keys.stock), RedisArgument(units))
        let reply = try evalStockScript(evalsha, on: connection) { connection throws(RedisError) in
            try Self.load(on: connection)
        }
        switch reply {
        case .integer(let left) where left >= 0: return .sold(attempts: 1, conflicts: 0)
        case .integer(let refused): return .outOfStock(remaining: -1 - refused, attempts: 1, conflicts: 0)
        case .status("RECORDED"): return .alreadyRecorded(attempts: 1, conflicts: 0)
        default: throw RedisError(.protocolError, "the stock script answered \(reply), not a stock count")
        }
    }
}

/// DECRBY; a compensating INCRBY when the result went below zero; the ledger written after a kept decrement.
/// Never oversells, but its ledger write is not atomic with the decrement.
struct DecrSale: SaleStrategy {
    let keys: StockKeys
    let ledger: StockLedger?

    init(keys: StockKeys, ledger: Bool) {
        self.keys = keys
        self.ledger = ledger ? StockLedger(keys: keys) : nil
    }

    /// A lost DECRBY reply cannot be resolved: nothing records it until the ledger write that follows.
    var canVerify: Bool { false }

    func place(orderID: String, units: Int, verify: Bool, on connection: RedisConnection) throws -> OrderOutcome {
        let left = try connection.send("DECRBY", RedisArgument(keys.stock), RedisArgument(units))
        guard let left = left.int else { throw RedisError(.protocolError, "DECRBY answered \(left)") }
        if left < 0 {
            // Give the units back. The INCRBY reply is the stock after this compensation.
            let back = try connection.send("INCRBY", RedisArgument(keys.stock), RedisArgument(units))
            return .outOfStock(remaining: back.int ?? 0, attempts: 1, conflicts: 0)
        }
        if let ledger { try record(orderID: orderID, units: units, in: ledger, on: connection) }
        return .sold(attempts: 1, conflicts: 0)
    }

    /// The ledger write after a kept decrement. If the connection fails here the units are already taken: reconnect
    /// within the worker's budget and write the entry once (HSETNX; the write counter only when it was new).
    private func record(orderID: String, units: Int, in ledger: StockLedger, on connection: RedisConnection) throws {
        do {
            let replies = try connection.pipeline(ledger.recordCommands(orderID: orderID, units: units))
            if let refusal = replies.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "HSETNX \(keys.ledger)")
            }
        } catch let error as RedisError where error.closesConnection || error.isTransient {
            // The units are taken: from here on only the ledger entry may be retried, never the decrement.
            throw DecrLedgerWriteLost(orderID: orderID, units: units, cause: error)
        }
    }
}

extension RedisError {
    /// A refusal that says "not now" and ran nothing: a restarted server loading its data, a busy script.
    var isTransient: Bool { reply?.code == "LOADING" || reply?.code == "BUSY" }
}

/// `decr` took the units but the connection failed before its ledger entry was confirmed.
struct DecrLedgerWriteLost: Error {
    var orderID: String
    var units: Int
    var cause: RedisError

    /// Writes the entry if it is not there yet; returns true when this call wrote it.
    static func complete(_ lost: DecrLedgerWriteLost, ledger: StockLedger, on connection: RedisConnection) throws
        -> Bool
    {
        let new = try connection.send(
            "HSETNX", RedisArgument(ledger.keys.ledger), RedisArgument(lost.orderID), RedisArgument(lost.units))
        if new.int == 1 { try connection.send(ledger.countWrite) }
        return new.int == 1
    }
}

/// GET then SET, with no WATCH: two workers that read the same value both sell the same units. Deliberately broken.
struct UnsafeSale: SaleStrategy {
    let keys: StockKeys
    let ledger: StockLedger?
    let get: RedisCommand

    init(keys: StockKeys, ledger: Bool) {
        self.keys = keys
        self.ledger = ledger ? StockLedger(keys: keys) : nil
        self.get = RedisCommand("GET", RedisArgument(keys.stock))
    }

    var canVerify: Bool { false }

    func place(orderID: String, units: Int, verify: Bool, on connection: RedisConnection) throws -> OrderOutcome {
        let remaining = try stockValue(connection.send(get), key: keys.stock)
        guard remaining >= units else { return .outOfStock(remaining: remaining, attempts: 1, conflicts: 0) }
        let set = RedisCommand("SET", RedisArgument(keys.stock), RedisArgument(remaining - Int64(units)))
        let replies = try connection.pipeline([set] + (ledger?.recordCommands(orderID: orderID, units: units) ?? []))
        if let refusal = replies.lazy.compactMap(\.errorReply).first {
            throw RedisError.server(refusal, command: "SET \(keys.stock)")
        }
        return .sold(attempts: 1, conflicts: 0)
    }
}
