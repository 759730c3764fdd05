import Hiredis

/// One EVALSHA of a check-and-decrement script that also writes the ledger. The script is loaded once per
/// connection and reloaded on NOSCRIPT (after SCRIPT FLUSH or a server restart).
struct LuaSale: SaleStrategy {
    /// The decision of a `lua` sale, for 1…K SKUs. KEYS: the group's ledger, its run hash, then one stock key per SKU
    /// of the order. ARGV: the units per SKU, the order id (empty without a ledger), then — in a catalog — the SKU
    /// numbers that name the ledger fields `ORDER|SKU` (a single stock key's field is the order id itself).
    ///
    /// It answers `{1, left…}` with the stock left per SKU after a sale, `{0, have…}` with what each SKU has when
    /// the order is refused, `{2}` when the order id is already in the ledger (so sending the same call again after a
    /// lost reply is safe). Every check comes before the first write, and it declares no `allow-oom` flag: under
    /// `maxmemory` Redis refuses it before it runs.
    static let script = """
        #!lua
        local n = #KEYS - 2
        local q = tonumber(ARGV[1])
        local id = ARGV[2]
        local function field(i)
          if ARGV[i + 2] then return id .. '|' .. ARGV[i + 2] end
          return id
        end
        if id ~= '' and redis.call('HEXISTS', KEYS[1], field(1)) == 1 then return {2} end
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
        left[1] = 1
        for i = 1, n do left[i + 1] = redis.call('DECRBY', KEYS[i + 2], q) end
        if id ~= '' then
          local value = q
          if ARGV[3] then value = q .. '/' .. n end
          for i = 1, n do redis.call('HSETNX', KEYS[1], field(i), value) end
          redis.call('HINCRBY', KEYS[2], 'ledger_writes', n)
        end
        return left
        """

    let keys: SaleKeys
    /// The script's SHA1, as the driver's `SCRIPT LOAD` returned it.
    let sha: String
    /// A single-key run without a ledger sends the same command for every order of one size: built once, indexed
    /// by quantity minus `smallest`.
    private let unrecorded: [RedisCommand]
    private let smallest: Int

    init(keys: SaleKeys, sha: String, quantities: ClosedRange<Int> = 1...1) {
        self.keys = keys
        self.sha = sha
        smallest = quantities.lowerBound
        unrecorded =
            keys.recordsLedger || !keys.layout.isSingleKey || quantities.count > 1024
            ? []
            : quantities.map { units in
                RedisCommand(
                    "EVALSHA", RedisArgument(sha), 3, keys.ledger[0], keys.run[0], keys.stock[0], RedisArgument(units),
                    "")
            }
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

    /// The call of the script for one order.
    func evalsha(_ order: Order) -> RedisCommand {
        if unrecorded.indices.contains(order.units - smallest) { return unrecorded[order.units - smallest] }
        var arguments: [RedisArgument] = [
            "EVALSHA", RedisArgument(sha), RedisArgument(order.skus.count + 2), keys.ledger[order.group],
            keys.run[order.group],
        ]
        arguments.reserveCapacity(5 + 2 * order.skus.count + 2)
        for sku in order.skus { arguments.append(keys.stock[sku]) }
        arguments.append(RedisArgument(order.units))
        arguments.append(keys.recordsLedger ? RedisArgument(order.id) : "")
        if !keys.layout.isSingleKey { for sku in order.skus { arguments.append(RedisArgument(sku)) } }
        return RedisCommand(arguments)
    }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        let call = evalsha(order)
        var reply = try connection.request(call)
        // NOSCRIPT means the script did not run: load it again and send the same call once more.
        if case .error(let error) = reply, error.code == "NOSCRIPT" {
            _ = try Self.load(on: connection)
            reply = try connection.request(call)
        }
        if case .error(let error) = reply {
            if error.code == "NOSTOCK" || error.code == "NOTINT" { throw StockKeyError(description: error.message) }
            throw RedisError.server(error, command: "EVALSHA")
        }
        guard case .array(let parts) = reply, let status = parts.first?.int else {
            throw RedisError(.protocolError, "the stock script answered \(reply), not a status and stock counts")
        }
        switch status {
        case 1:
            let left: StockLeft =
                parts.count == 2
                ? parts[1].int.map(StockLeft.one) ?? .unknown : StockLeft(parts.dropFirst().compactMap(\.int))
            return .sold(attempts: 1, conflicts: 0, left: left)
        case 2: return .alreadyRecorded(attempts: 1, conflicts: 0)
        default: return .outOfStock(remaining: parts.dropFirst().compactMap(\.int), attempts: 1, conflicts: 0)
        }
    }
}
