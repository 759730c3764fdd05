import Hiredis

/// One EVALSHA of a check-and-decrement script that also writes the ledger. The script is loaded once per
/// connection and reloaded on NOSCRIPT (after SCRIPT FLUSH or a server restart).
struct LuaSale: SaleStrategy {
    /// The decision of a `lua` sale, for 1…K SKUs. Without a ledger: KEYS are the order's stock keys, ARGV its units
    /// per SKU. With one: KEYS are the group's ledger, its run hash, then the stock keys; ARGV the units, the order id,
    /// then — in a catalog — the SKU numbers that name the ledger fields `ORDER|SKU` (a single stock key's field is the
    /// order id itself).
    ///
    /// It answers the integer 1 after a sale, 2 when the order id is already in the ledger (so sending the same call
    /// again after a lost reply is safe), and `{0, have…}` with what each SKU has when the order is refused: the reply
    /// of the common case is the cheapest one, and nothing is built for it on either side. Every check comes before
    /// the first write, and it declares no `allow-oom` flag: under `maxmemory` Redis refuses it before it runs.
    static let script = """
        #!lua
        local call = redis.call
        local id = ARGV[2]
        local first = 1
        if id then
          first = 3
          local field = id
          if ARGV[3] then field = id .. '|' .. ARGV[3] end
          if call('HEXISTS', KEYS[1], field) == 1 then return 2 end
        end
        local last = #KEYS
        local q = tonumber(ARGV[1])
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
        for i = first, last do call('DECRBY', KEYS[i], ARGV[1]) end
        if id then
          local value = ARGV[1]
          if ARGV[3] then value = value .. '/' .. (last - 2) end
          for i = 3, last do
            local field = id
            if ARGV[i] then field = id .. '|' .. ARGV[i] end
            call('HSETNX', KEYS[1], field, value)
          end
          call('HINCRBY', KEYS[2], 'ledger_writes', last - 2)
        end
        return 1
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
                RedisCommand("EVALSHA", RedisArgument(sha), 1, keys.stock[0], RedisArgument(units))
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

    /// The call of the script for one order: prebuilt for a single key without a ledger, otherwise built here.
    func evalsha(_ order: Order) -> RedisCommand {
        if unrecorded.indices.contains(order.units - smallest) { return unrecorded[order.units - smallest] }
        guard keys.recordsLedger else {
            var arguments: [RedisArgument] = ["EVALSHA", RedisArgument(sha), RedisArgument(order.skus.count)]
            arguments.reserveCapacity(4 + order.skus.count)
            for sku in order.skus { arguments.append(keys.stock[sku]) }
            arguments.append(RedisArgument(order.units))
            return RedisCommand(arguments)
        }
        var arguments: [RedisArgument] = [
            "EVALSHA", RedisArgument(sha), RedisArgument(order.skus.count + 2), keys.ledger[order.group],
            keys.run[order.group],
        ]
        arguments.reserveCapacity(5 + 2 * order.skus.count + 2)
        for sku in order.skus { arguments.append(keys.stock[sku]) }
        arguments.append(RedisArgument(order.units))
        arguments.append(RedisArgument(order.id))
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
        switch reply {
        case .integer(1): return .sold(attempts: 1, conflicts: 0)
        case .integer(2): return .alreadyRecorded(attempts: 1, conflicts: 0)
        case .array(let parts) where parts.first?.int == 0 && parts.count == order.skus.count + 1:
            return .outOfStock(remaining: parts.dropFirst().compactMap(\.int), attempts: 1, conflicts: 0)
        default:
            throw RedisError(
                .protocolError, "the stock script answered \(reply), not 1 (sold), 2 (recorded) or {0, stock counts…}")
        }
    }
}
