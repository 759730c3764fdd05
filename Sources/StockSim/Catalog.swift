import Foundation
import Hiredis

/// How demand spreads over the SKUs of a group.
public enum Skew: Sendable, Hashable, Codable, CustomStringConvertible {
    case uniform
    /// Zipf with exponent `s`: the SKU of rank r is chosen with weight 1 / r^s (hot items).
    case zipf(Double)

    /// Parses `uniform` or `zipf:S`.
    ///
    /// - Throws: `ConfigurationError` naming the accepted forms.
    public init(parsing text: String) throws(ConfigurationError) {
        if text == "uniform" {
            self = .uniform
            return
        }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "zipf", let s = Double(parts[1]), s > 0, s.isFinite else {
            throw ConfigurationError("skew '\(text)' should be uniform or zipf:S with S > 0, as in zipf:1.1")
        }
        self = .zipf(s)
    }

    public var description: String {
        switch self {
        case .uniform: "uniform"
        case .zipf(let s): "zipf:\(s)"
        }
    }

    /// Draws `count` distinct SKUs from `candidates` (in rank order), weighted by the skew.
    func draw(_ count: Int, from candidates: [Int], using random: inout some RandomNumberGenerator) -> [Int] {
        var pool = candidates
        var chosen: [Int] = []
        while chosen.count < count, !pool.isEmpty {
            let index: Int
            switch self {
            case .uniform:
                index = Int.random(in: 0..<pool.count, using: &random)
            case .zipf(let s):
                let weights = pool.indices.map { 1 / pow(Double($0 + 1), s) }
                var target = Double.random(in: 0..<weights.reduce(0, +), using: &random)
                var pick = pool.count - 1
                for (i, weight) in weights.enumerated() {
                    if target < weight {
                        pick = i
                        break
                    }
                    target -= weight
                }
                index = pick
            }
            chosen.append(pool.remove(at: index))
        }
        return chosen
    }
}

/// The keys of a multi-SKU catalog: `--skus N` split over `--groups G`, each group's keys under one hash tag.
///
/// For key `stock:count`, SKU 3 of group 1 is `{stock:count:g1}:sku:3`; group 1's ledger is `{stock:count:g1}:ledger`
/// and its run hash `{stock:count:g1}:run`. A cart draws all its SKUs from one group, so one Redis Cluster slot holds
/// every key a cart touches.
public struct CatalogLayout: Sendable, Hashable {
    public let key: String
    public let skus: Int
    public let groups: Int

    public init(key: String, skus: Int, groups: Int) {
        self.key = key
        self.skus = skus
        self.groups = groups
    }

    /// SKUs are dealt round-robin: SKU i belongs to group i mod G.
    public func group(of sku: Int) -> Int { sku % groups }
    public func skus(in group: Int) -> [Int] { Array(stride(from: group, to: skus, by: groups)) }
    func tag(_ group: Int) -> String { "{\(key):g\(group)}" }
    public func stockKey(_ sku: Int) -> String { "\(tag(group(of: sku))):sku:\(sku)" }
    public func ledgerKey(group: Int) -> String { "\(tag(group)):ledger" }
    public func runKey(group: Int) -> String { "\(tag(group)):run" }
}

/// One order of a catalog run: `units` of each SKU in `skus`, all from one group.
struct CartOrder {
    var id: String
    var units: Int
    var skus: [Int]
    var group: Int
}

/// A cart order's outcome; `remaining` is what the strategy saw of each SKU, in the order's SKU order.
typealias CartOutcome = SaleOutcome<[Int64]>

/// Takes every SKU of a cart or none of them.
struct CartSale {
    let strategy: Strategy
    let layout: CatalogLayout
    let ledger: Bool
    let policy: RetryPolicy
    let scriptSHA: String

    /// The ledger fields of an order: `ORDER|SKU` → `UNITS/CART_SIZE`, one per SKU.
    func recordCommands(_ order: CartOrder) -> [RedisCommand] {
        guard ledger else { return [] }
        let ledgerKey = RedisArgument(layout.ledgerKey(group: order.group))
        return order.skus.map { sku in
            RedisCommand(
                "HSETNX", ledgerKey, RedisArgument("\(order.id)|\(sku)"),
                RedisArgument("\(order.units)/\(order.skus.count)"))
        } + [
            RedisCommand(
                "HINCRBY", RedisArgument(layout.runKey(group: order.group)), "ledger_writes",
                RedisArgument(order.skus.count))
        ]
    }

    var canVerify: Bool { ledger && (strategy == .watch || strategy == .lua) }

    func place(_ order: CartOrder, verify: Bool, on connection: RedisConnection) throws -> CartOutcome {
        let keys = order.skus.map { RedisArgument(layout.stockKey($0)) }
        switch strategy {
        case .watch:
            let transaction = OptimisticTransaction(
                watching: keys, read: RedisCommand([RedisArgument("MGET")] + keys), policy: policy)
            let commands =
                order.skus.map {
                    RedisCommand("DECRBY", RedisArgument(layout.stockKey($0)), RedisArgument(order.units))
                }
                + recordCommands(order)
            let check = RedisCommand(
                "HEXISTS", RedisArgument(layout.ledgerKey(group: order.group)),
                RedisArgument("\(order.id)|\(order.skus[0])"))
            let result = try connection.run(transaction) { attempt throws -> TransactionDecision<[Int64]?> in
                let remaining = try values(attempt.read, order)
                if verify, ledger, try attempt.connection.send(check).int == 1 { return .abort(nil) }
                return remaining.allSatisfy({ $0 >= order.units }) ? .commit(commands, remaining) : .abort(remaining)
            }
            return try CartOutcome(result)
        case .lua:
            let arguments: [RedisArgument] =
                [
                    RedisArgument("EVALSHA"), RedisArgument(scriptSHA), RedisArgument(keys.count + 2),
                    RedisArgument(layout.ledgerKey(group: order.group)),
                    RedisArgument(layout.runKey(group: order.group)),
                ]
                + keys + [RedisArgument(order.units), RedisArgument(ledger ? order.id : "")]
                + order.skus.map { RedisArgument($0) }
            let evalsha = RedisCommand(arguments)
            let reply = try evalStockScript(evalsha, on: connection) { connection throws(RedisError) in
                try Self.load(on: connection)
            }
            guard let parts = reply.array, let status = parts.first?.int else {
                throw RedisError(.protocolError, "the cart script answered \(reply)")
            }
            switch status {
            case 1: return .sold(attempts: 1, conflicts: 0)
            case 2: return .alreadyRecorded(attempts: 1, conflicts: 0)
            default: return .outOfStock(remaining: parts.dropFirst().compactMap(\.int), attempts: 1, conflicts: 0)
            }
        case .decr:
            var taken: [String] = []
            for sku in order.skus {
                let key = layout.stockKey(sku)
                let left = try connection.send("DECRBY", RedisArgument(key), RedisArgument(order.units))
                taken.append(key)
                if (left.int ?? -1) < 0 {
                    // One SKU fell short: give back every decrement this order made.
                    let replies = try connection.pipeline(
                        taken.map { RedisCommand("INCRBY", RedisArgument($0), RedisArgument(order.units)) })
                    let remaining =
                        replies.map { $0.int ?? 0 }
                        + Array(repeating: Int64(order.units), count: order.skus.count - taken.count)
                    return .outOfStock(remaining: remaining, attempts: 1, conflicts: 0)
                }
            }
            let replies = try connection.pipeline(recordCommands(order))
            if let refusal = replies.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "HSETNX")
            }
            return .sold(attempts: 1, conflicts: 0)
        case .unsafe:
            let remaining = try values(connection.send(RedisCommand([RedisArgument("MGET")] + keys)), order)
            guard remaining.allSatisfy({ $0 >= order.units }) else {
                return .outOfStock(remaining: remaining, attempts: 1, conflicts: 0)
            }
            let sets = zip(order.skus, remaining).map { sku, value in
                RedisCommand("SET", RedisArgument(layout.stockKey(sku)), RedisArgument(value - Int64(order.units)))
            }
            let replies = try connection.pipeline(sets + recordCommands(order))
            if let refusal = replies.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "SET")
            }
            return .sold(attempts: 1, conflicts: 0)
        }
    }

    private func values(_ reply: RedisReply, _ order: CartOrder) throws -> [Int64] {
        guard let elements = reply.array, elements.count == order.skus.count else {
            throw RedisError(.protocolError, "MGET answered \(reply)")
        }
        return try zip(order.skus, elements).map { sku, element in try stockValue(element, key: layout.stockKey(sku)) }
    }

    /// Checks every SKU, then takes them all and records one ledger field per SKU; an order id already recorded is
    /// refused, so a call repeated after a lost reply sells nothing twice.
    static let script = """
        local n = #KEYS - 2
        local q = tonumber(ARGV[1])
        if ARGV[2] ~= '' and redis.call('HEXISTS', KEYS[1], ARGV[2] .. '|' .. ARGV[3]) == 1 then return {2} end
        local left = {0}
        local short = false
        for i = 1, n do
          local v = redis.call('GET', KEYS[i + 2])
          if not v then return redis.error_reply('NOSTOCK the stock key ' .. KEYS[i + 2] .. ' does not exist') end
          local c = tonumber(v)
          if not c or c ~= math.floor(c) then
            return redis.error_reply('NOTINT the stock key ' .. KEYS[i + 2] .. ' holds ' .. v .. ', not an integer')
          end
          left[i + 1] = c
          if c < q then short = true end
        end
        if short then return left end
        for i = 1, n do redis.call('DECRBY', KEYS[i + 2], q) end
        if ARGV[2] ~= '' then
          for i = 1, n do redis.call('HSETNX', KEYS[1], ARGV[2] .. '|' .. ARGV[i + 2], q .. '/' .. n) end
          redis.call('HINCRBY', KEYS[2], 'ledger_writes', n)
        end
        return {1}
        """

    static func load(on connection: RedisConnection) throws(RedisError) -> String {
        let reply = try connection.send("SCRIPT", "LOAD", RedisArgument(script))
        guard let sha = reply.string, sha.count == 40 else {
            throw RedisError(.protocolError, "SCRIPT LOAD answered \(reply), not a SHA1")
        }
        return sha
    }
}

/// What a catalog's ledgers hold, per SKU and per order.
struct CatalogLedger {
    var unitsBySKU: [Int]
    var orders: Int
    var fields: Int
    var writes: Int
    /// Orders with fewer ledger fields than the SKUs their cart named.
    var partialOrders: [String]
    var malformed: Int

    /// Reads every group's ledger with HSCAN.
    static func read(_ layout: CatalogLayout, on connection: RedisConnection) throws(RedisError) -> CatalogLedger {
        var result = CatalogLedger(
            unitsBySKU: Array(repeating: 0, count: layout.skus), orders: 0, fields: 0, writes: 0, partialOrders: [],
            malformed: 0)
        for group in 0..<layout.groups {
            var cursor = "0"
            var seen = Set<String>()
            var cartSizes: [String: (expected: Int, found: Int)] = [:]
            repeat {
                let reply = try connection.send(
                    RedisCommand(
                        "HSCAN", RedisArgument(layout.ledgerKey(group: group)), RedisArgument(cursor), "COUNT", 1000))
                guard let page = reply.array, page.count == 2, let next = page[0].string, let entries = page[1].array
                else {
                    throw RedisError(.protocolError, "HSCAN answered \(reply)")
                }
                cursor = next
                var index = 0
                while index + 1 < entries.count {
                    defer { index += 2 }
                    guard let field = entries[index].string, seen.insert(field).inserted else { continue }
                    result.fields += 1
                    let parts = field.split(separator: "|")
                    let value = (entries[index + 1].string ?? "").split(separator: "/")
                    guard parts.count == 2, let sku = Int(parts[1]), sku >= 0, sku < layout.skus, value.count == 2,
                        let units = Int(value[0]), let size = Int(value[1]), units > 0
                    else {
                        result.malformed += 1
                        continue
                    }
                    result.unitsBySKU[sku] += units
                    let order = String(parts[0])
                    cartSizes[order, default: (size, 0)].found += 1
                }
            } while cursor != "0"
            result.orders += cartSizes.count
            result.partialOrders += cartSizes.filter { $0.value.found < $0.value.expected }.map(\.key).sorted()
            result.writes += Int(
                try connection.send("HGET", RedisArgument(layout.runKey(group: group)), "ledger_writes").int ?? 0)
        }
        return result
    }
}
