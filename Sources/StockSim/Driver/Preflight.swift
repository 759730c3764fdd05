import Hiredis

/// Checks, before anything is written, that the server will let this run do what its strategy needs: every command
/// the workers will send is queued inside MULTI with the run's real keys, and the transaction is discarded. Redis
/// checks ACL permissions (and `maxmemory` for writes) when it queues, so a refusal names the exact command, and
/// nothing runs.
enum Preflight {
    /// The commands of one strategy, as the workers send them.
    static func commands(for strategy: Strategy, keys: StockKeys, scriptSHA: String) -> [RedisCommand] {
        let stock = RedisArgument(keys.stock)
        let ledger = RedisArgument(keys.ledger)
        let run = RedisArgument(keys.run)
        let record = [
            RedisCommand("HSETNX", ledger, "preflight", 1), RedisCommand("HINCRBY", run, "ledger_writes", 0),
            RedisCommand("HEXISTS", ledger, "preflight"),
        ]
        switch strategy {
        case .watch:
            return [RedisCommand("GET", stock), RedisCommand("DECRBY", stock, 0)] + record
        case .lua:
            return [
                RedisCommand("EVALSHA", RedisArgument(scriptSHA), 3, stock, ledger, run, 1, "preflight"),
                RedisCommand("SCRIPT", "LOAD", RedisArgument(LuaSale.script)),
            ]
        case .decr:
            return [RedisCommand("DECRBY", stock, 0), RedisCommand("INCRBY", stock, 0)] + record
        case .unsafe:
            return [RedisCommand("GET", stock), RedisCommand("SET", stock, 0)] + record
        }
    }

    /// Runs the check.
    ///
    /// - Returns: whether workers may name their connections (`CLIENT SETNAME`, used to find them for chaos).
    /// - Throws: `SimulationError` naming the refused command and what to do.
    static func check(
        _ connection: RedisConnection, strategy: Strategy, keys: StockKeys, scriptSHA: String, user: String?,
        skipScript: Bool = false
    ) throws(SimulationError) -> Bool {
        var commands = commands(for: strategy, keys: keys, scriptSHA: scriptSHA)
        // A cart run's script takes other arguments; its EVALSHA permission is checked by the same rule, with no keys.
        if skipScript {
            commands =
                commands.filter { $0.name != "EVALSHA" }
                + (strategy == .lua
                    ? [RedisCommand("EVALSHA", RedisArgument(String(repeating: "0", count: 40)), 0)] : [])
        }
        commands.append(RedisCommand("CLIENT", "SETNAME", "stocksim-preflight"))
        do {
            if strategy == .watch {
                // WATCH cannot be queued: try it for real (it changes nothing) and let it go.
                try connection.send("WATCH", RedisArgument(keys.stock))
                try connection.send("UNWATCH")
            }
            let replies = try connection.pipeline([RedisCommand("MULTI")] + commands + [RedisCommand("DISCARD")])
            if let refusal = replies.first?.errorReply { throw RedisError.server(refusal, command: "MULTI") }
            for (command, reply) in zip(commands, replies.dropFirst()) {
                guard let refusal = reply.errorReply else { continue }
                if command.name == "CLIENT" && refusal.code == "NOPERM" { return false }
                throw explain(refusal, command: command.name, strategy: strategy, keys: keys, user: user)
            }
            return true
        } catch let error as SimulationError {
            throw error
        } catch let error as RedisError {
            if let refusal = error.reply {
                throw explain(
                    refusal, command: strategy == .watch ? "WATCH" : "MULTI", strategy: strategy, keys: keys, user: user
                )
            }
            throw SimulationError(.redisUnavailable, error.message)
        } catch {
            throw SimulationError(.redisUnavailable, "\(error)")
        }
    }

    /// A refusal turned into one line that says what to do.
    static func explain(_ refusal: RedisErrorReply, command: String, strategy: Strategy, keys: StockKeys, user: String?)
        -> SimulationError
    {
        let name = command.uppercased()
        switch refusal.code {
        case "NOAUTH":
            return SimulationError(
                .redisUnavailable,
                "the server requires a password (\(refusal)); give it in the URL: redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port"
            )
        case "NOPERM":
            let who = user ?? "default"
            return SimulationError(
                .badServerState,
                "the ACL user '\(who)' may not run \(name), which the \(strategy) strategy needs (\(refusal)); grant it, as in ACL SETUSER \(who) +\(name.lowercased().split(separator: " ").first ?? "") ~\(keys.stock) ~\(keys.ledger) ~\(keys.run), or choose another --strategy"
            )
        case "OOM":
            return SimulationError(
                .badServerState,
                "Redis is out of memory and refuses writes (\(refusal)); free memory, raise maxmemory, or set an eviction policy other than noeviction"
            )
        default:
            return SimulationError(.badServerState, "Redis refused \(name): \(refusal)")
        }
    }
}
