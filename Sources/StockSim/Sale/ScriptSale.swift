import Hiredis

/// The user's own Lua script under contract v1 (`--strategy script --script FILE.lua`; README "Your own Lua script"):
/// one EVALSHA per order with the order's stock keys in cart order (then the ledger and run hash when the run keeps a
/// ledger), the units per key and the order id; loaded by the driver with SCRIPT LOAD, reloaded here on NOSCRIPT. Its
/// reply is read by `SaleScriptReply`; anything outside the contract stops the worker with one line naming the script,
/// the reply and what the contract expects.
struct ScriptSale: SaleStrategy {
    let keys: SaleKeys
    let script: UserScript
    /// The script's SHA1, as the driver's `SCRIPT LOAD` returned it.
    let sha: String

    /// Whether the script writes the ledger, and so refuses a resent order, is known only after the run: a lost reply
    /// is never resent, it stays unresolved.
    var canVerify: Bool { false }

    /// The call of the script for one order.
    func evalsha(_ order: Order) -> RedisCommand {
        var arguments: [RedisArgument] = [
            "EVALSHA", RedisArgument(sha), RedisArgument(order.skus.count + (keys.recordsLedger ? 2 : 0)),
        ]
        arguments.reserveCapacity(4 + 2 * order.skus.count + 2)
        for sku in order.skus { arguments.append(keys.stock[sku]) }
        if keys.recordsLedger {
            arguments.append(keys.ledger[order.group])
            arguments.append(keys.run[order.group])
        }
        for _ in order.skus { arguments.append(RedisArgument(order.units)) }
        arguments.append(RedisArgument(order.id))
        return RedisCommand(arguments)
    }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        let reply = try connection.evalsha(evalsha(order)) { _ = try script.load(on: $0) }
        if case .error(let error) = reply {
            if error.code == "BUSY" || error.code == "LOADING" { throw RedisError.server(error, command: "EVALSHA") }
            throw UserScriptError(
                "the script \(script.path) failed at run time: \(error.code) \(error.message); the contract expects {\"sold\", left…}, {\"refused\", left…} or {\"recorded\"}"
            )
        }
        let answer: SaleScriptReply
        do {
            answer = try SaleScriptReply(reply, keys: order.skus.count)
        } catch {
            throw UserScriptError("the script \(script.path) is outside contract v1: \(error)")
        }
        switch answer {
        case .sold(let left): return .sold(attempts: 1, conflicts: 0, left: StockLeft(left))
        case .refused(let left): return .outOfStock(remaining: left, attempts: 1, conflicts: 0)
        case .recorded: return .alreadyRecorded(attempts: 1, conflicts: 0)
        }
    }
}

/// The user's script: where it came from (for messages) and its source.
public struct UserScript: Sendable, Hashable, Codable {
    /// The file it was read from, as given.
    public var path: String
    /// The Lua source.
    public var source: String

    /// Loads the script on the server and returns its SHA1.
    ///
    /// - Throws: `UserScriptError` naming the script and Redis's answer; `RedisError` when the connection fails.
    func load(on connection: RedisConnection) throws -> String {
        let reply = try connection.request(RedisCommand("SCRIPT", "LOAD", RedisArgument(source)))
        if case .error(let error) = reply {
            throw UserScriptError(
                "the script \(path) could not be loaded: \(error.code) \(error.message); fix it (contract v1: README, \"Your own Lua script\")"
            )
        }
        guard let sha = reply.string, sha.count == 40 else {
            throw UserScriptError("SCRIPT LOAD of \(path) answered \(reply), not a SHA1")
        }
        return sha
    }
}

/// The user's script broke its contract: it did not load, errored, or replied outside contract v1.
struct UserScriptError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
