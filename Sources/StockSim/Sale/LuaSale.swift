import Hiredis

/// One EVALSHA of a check-and-decrement script that also writes the ledger. The script is loaded once per
/// connection and reloaded on NOSCRIPT (after SCRIPT FLUSH or a server restart).
struct LuaSale: SaleStrategy {
    /// The decision of a `lua` sale, for 1…K SKUs. KEYS: without a ledger the order's stock keys; with one the
    /// group's ledger, its run hash, then the stock keys. ARGV: the units per SKU, then (when anything follows) `L`
    /// when the per-sale witness wants the stock left or an empty string when not, the order id, and — in a catalog —
    /// the SKU numbers that name the ledger fields `ORDER|SKU` (a single stock key's field is the order id itself).
    ///
    /// Without `L` it answers the integer 1 after a sale, 2 when the order id is already in the ledger (so sending
    /// the same call again after a lost reply is safe), and `{0, have…}` with what each SKU has when the order is
    /// refused: the reply of the common case is the cheapest one, and nothing is built for it on either side. With
    /// `L` a sale of one SKU answers the integer stock left (as cheap as 1), a cart `{1, left…}`, an order already
    /// recorded `{2}`; refusals are the same. Every check comes before the first write, and it declares no
    /// `allow-oom` flag: under `maxmemory` Redis refuses it before it runs.
    ///
    /// What a call costs Redis is counted in instructions (redis-server under callgrind, `redis-benchmark -c 1`, the
    /// whole server per EVALSHA): a single-key sale with `L` builds no table for the one stock left (a table and its
    /// garbage were a tenth of the call), and a unit order takes its quantity without `tonumber`, which is `strtod`
    /// (a twentieth). The units are still handed to DECRBY as the string they came in: a Lua number would be
    /// formatted back with `sprintf`.
    static let script = """
        #!lua
        local call = redis.call
        local left = ARGV[2] == 'L'
        local id = ARGV[3]
        local first = 1
        if id then
          first = 3
          local field = id
          if ARGV[4] then field = id .. '|' .. ARGV[4] end
          if call('HEXISTS', KEYS[1], field) == 1 then
            if left then return {2} end
            return 2
          end
        end
        local last = #KEYS
        local q = ARGV[1] == '1' and 1 or tonumber(ARGV[1])
        local short = false
        for i = first, last do
          local v = call('GET', KEYS[i])
          if not v then return redis.error_reply('NOSTOCK the stock key ' .. KEYS[i] .. ' does not exist') end
          local c = tonumber(v)
          if not c or c % 1 ~= 0 then
            return redis.error_reply('NOTINT the stock key ' .. KEYS[i] .. ' holds ' .. v .. ', not an integer')
          end
          if c < q then short = true end
        end
        if short then
          local have = {0}
          for i = first, last do have[#have + 1] = tonumber(call('GET', KEYS[i])) end
          return have
        end
        local after = false
        if left and last > first then after = {1} end
        local c
        for i = first, last do
          c = call('DECRBY', KEYS[i], ARGV[1])
          if after then after[#after + 1] = c end
        end
        if id then
          local value = ARGV[1]
          if ARGV[4] then value = value .. '/' .. (last - 2) end
          for i = 3, last do
            local field = id
            if ARGV[i + 1] then field = id .. '|' .. ARGV[i + 1] end
            call('HSETNX', KEYS[1], field, value)
          end
          call('HINCRBY', KEYS[2], 'ledger_writes', last - 2)
        end
        if after then return after end
        if left then return c end
        return 1
        """

    let keys: SaleKeys
    /// The script's SHA1, as the driver's `SCRIPT LOAD` returned it.
    let sha: String
    /// Whether the script answers the stock left after a sale (`L`): the worker records its sales for the per-sale
    /// witness or the history.
    let reportsLeft: Bool
    /// A single-key run without a ledger sends the same command for every order of one size: built once, indexed
    /// by quantity minus `smallest`.
    private let unrecorded: [RedisCommand]
    /// A single-key run with a ledger: `EVALSHA sha 3 ledger run stock`, encoded once; each order appends its
    /// units, `L` or nothing, and its id.
    private let recordedOneKey: RedisCommandPrefix?
    private let smallest: Int

    init(keys: SaleKeys, sha: String, quantities: ClosedRange<Int> = 1...1, reportsLeft: Bool = false) {
        self.keys = keys
        self.sha = sha
        self.reportsLeft = reportsLeft
        smallest = quantities.lowerBound
        unrecorded =
            keys.recordsLedger || !keys.layout.isSingleKey || quantities.count > 1024
            ? []
            : quantities.map { units in
                reportsLeft
                    ? RedisCommand("EVALSHA", RedisArgument(sha), 1, keys.stock[0], RedisArgument(units), "L")
                    : RedisCommand("EVALSHA", RedisArgument(sha), 1, keys.stock[0], RedisArgument(units))
            }
        recordedOneKey =
            keys.recordsLedger && keys.layout.isSingleKey
            ? RedisCommandPrefix("EVALSHA", RedisArgument(sha), 3, keys.ledger[0], keys.run[0], keys.stock[0]) : nil
    }

    /// Loads the script on the server and returns its SHA1.
    ///
    /// - Throws: `RedisError` when Redis refuses it or answers something else than a SHA1.
    static func load(on connection: RedisConnection) throws(RedisError) -> String {
        let reply = try connection.send("SCRIPT", "LOAD", RedisArgument(script))
        guard let sha = reply.string, sha.count == 40 else {
            throw RedisError(.protocolError, "SCRIPT LOAD answered \(reply), not a SHA1")
        }
        return sha
    }

    /// The script refuses an order id already in the ledger, so sending the same call again is always safe.
    var canVerify: Bool { keys.recordsLedger }

    /// The call of the script for one order: prebuilt for a single key without a ledger, otherwise built here.
    func evalsha(_ order: Order) -> RedisCommand {
        if unrecorded.indices.contains(order.units - smallest) { return unrecorded[order.units - smallest] }
        guard keys.recordsLedger else {
            var arguments: [RedisArgument] = ["EVALSHA", RedisArgument(sha), RedisArgument(order.skus.count)]
            arguments.reserveCapacity(5 + order.skus.count)
            for sku in order.skus { arguments.append(keys.stock[sku]) }
            arguments.append(RedisArgument(order.units))
            if reportsLeft { arguments.append("L") }
            return RedisCommand(arguments)
        }
        if let recordedOneKey, order.skus.count == 1 {
            return recordedOneKey.command(RedisArgument(order.units), reportsLeft ? "L" : "", RedisArgument(order.id))
        }
        var arguments: [RedisArgument] = [
            "EVALSHA", RedisArgument(sha), RedisArgument(order.skus.count + 2), keys.ledger[order.group],
            keys.run[order.group],
        ]
        arguments.reserveCapacity(5 + 2 * order.skus.count + 3)
        for sku in order.skus { arguments.append(keys.stock[sku]) }
        arguments.append(RedisArgument(order.units))
        arguments.append(reportsLeft ? "L" : "")
        arguments.append(RedisArgument(order.id))
        if !keys.layout.isSingleKey { for sku in order.skus { arguments.append(RedisArgument(sku)) } }
        return RedisCommand(arguments)
    }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        let reply = try connection.evalsha(evalsha(order)) { _ = try Self.load(on: $0) }
        if case .error(let error) = reply { throw RedisError.server(error, command: "EVALSHA") }
        let skus = order.skus.count
        switch reply {
        case .integer(1) where !reportsLeft: return .sold(attempts: 1, conflicts: 0)
        case .integer(2) where !reportsLeft: return .alreadyRecorded(attempts: 1, conflicts: 0)
        case .integer(let left) where reportsLeft && skus == 1:
            return .sold(attempts: 1, conflicts: 0, left: .one(left))
        case .array(let parts) where reportsLeft && parts == [.integer(2)]:
            return .alreadyRecorded(attempts: 1, conflicts: 0)
        case .array(let parts) where parts.count == skus + 1 && parts.allSatisfy({ $0.int != nil }):
            let values = parts.dropFirst().compactMap(\.int)
            switch parts[0].int {
            case 0: return .outOfStock(remaining: values, attempts: 1, conflicts: 0)
            case 1 where reportsLeft: return .sold(attempts: 1, conflicts: 0, left: StockLeft(values))
            default: break
            }
        default: break
        }
        throw RedisError(
            .protocolError,
            reportsLeft
                ? "the stock script answered \(reply), not the stock left (sold), {1, stock left…}, {2} (recorded) or {0, stock counts…}"
                : "the stock script answered \(reply), not 1 (sold), 2 (recorded) or {0, stock counts…}")
    }
}
