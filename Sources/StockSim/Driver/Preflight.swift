import Hiredis
import Logging

/// Checks, before anything is written, that the server will let this run do what it needs. Nothing it sends writes a
/// key, on any path:
///
/// 1. `INFO memory cluster`: a Redis Cluster node is refused (not supported yet), and so is a server whose memory is
///    full under `maxmemory-policy noeviction`.
/// 2. `COMMAND INFO` of every command the run sends: a command renamed or disabled with `rename-command` does not exist
///    under its name, and is named in the message with the whole list the strategy needs.
/// 3. `ACL DRYRUN <user> <command> <args…>` (Redis 7, user from `ACL WHOAMI`) of every command, with the run's real
///    keys: the workers' commands, the commands the Lua script calls inside (a script is not rolled back, so a
///    refusal inside it would leave half a sale), and the driver's own writes.
/// 4. Where `ACL DRYRUN` is not there or not allowed: the commands are queued inside a MULTI that is discarded, sent
///    only after the server accepted the MULTI (Redis checks ACL and memory when it queues; nothing queued runs
///    without EXEC, which is never sent). WATCH, which cannot be queued, is tried for real: it writes nothing.
/// 5. Where MULTI is not there either: only `COMMAND INFO` was checked; a log line says that ACL permissions were
///    not, and a refusal comes from the driver's first write (the stock SET), before any sale.
enum Preflight {
    /// A command that is sent only to see whether the server accepts it: never for real.
    static let orderID: RedisArgument = "preflight"

    /// Every command the run sends with `strategy`, as the workers and the driver send them (never sent for real).
    ///
    /// - Parameter catalog: the cart script's keys (ledger, run, stock) and MGET of the stock keys, as a catalog
    ///   run's workers send them.
    static func commands(for strategy: Strategy, keys: StockKeys, scriptSHA: String, catalog: Bool = false)
        -> [RedisCommand]
    {
        let stock = RedisArgument(keys.stock)
        let ledger = RedisArgument(keys.ledger)
        let run = RedisArgument(keys.run)
        let record = [
            RedisCommand("HSETNX", ledger, orderID, 1), RedisCommand("HINCRBY", run, "ledger_writes", 1),
            RedisCommand("HEXISTS", ledger, orderID),
        ]
        let driver = [
            RedisCommand("SET", stock, 0), RedisCommand("DEL", ledger, run),
            RedisCommand("HSET", run, "run_id", orderID, "ledger_writes", 0),
        ]
        let read = catalog ? RedisCommand("MGET", stock) : RedisCommand("GET", stock)
        let sale: [RedisCommand]
        switch strategy {
        case .watch:
            sale = [
                RedisCommand("WATCH", stock), read, RedisCommand("MULTI"), RedisCommand("DECRBY", stock, 1),
                RedisCommand("EXEC"), RedisCommand("UNWATCH"),
            ]
        case .lua:
            let sha = RedisArgument(scriptSHA.count == 40 ? scriptSHA : String(repeating: "0", count: 40))
            // As `LuaSale.evalsha` sends it with a ledger: ledger, run hash, stock keys; units, order id, then a
            // catalog's SKUs. Without a ledger it sends the stock keys and units alone, which this covers.
            let evalsha =
                catalog
                ? RedisCommand("EVALSHA", sha, 3, ledger, run, stock, 1, orderID, "0")
                : RedisCommand("EVALSHA", sha, 3, ledger, run, stock, 1, orderID)
            // The script's own calls, with the keys it is given: it is not rolled back when one of them is refused.
            sale = [
                evalsha, RedisCommand("SCRIPT", "LOAD", RedisArgument(LuaSale.script)), RedisCommand("GET", stock),
                RedisCommand("DECRBY", stock, 1),
            ]
        case .decr:
            sale = [RedisCommand("DECRBY", stock, 1), RedisCommand("INCRBY", stock, 1)]
        case .unsafe:
            sale = [read, RedisCommand("SET", stock, 0)]
        }
        return sale + record + driver
    }

    /// The names of the commands the run sends, in order, each once (`SCRIPT LOAD` as `SCRIPT`).
    static func names(of commands: [RedisCommand]) -> [String] {
        var names: [String] = []
        for command in commands where !names.contains(command.name) { names.append(command.name) }
        return names
    }

    /// Runs the check.
    ///
    /// - Parameters:
    ///   - catalog: a catalog run: its script and read take other keys (see ``commands(for:keys:scriptSHA:catalog:)``).
    ///   - logger: where the note goes when ACL permissions could not be checked.
    /// - Returns: whether workers may name their connections (`CLIENT SETNAME`, used to find them for chaos).
    /// - Throws: `SimulationError` naming the refused or missing command and what to do.
    static func check(
        _ connection: RedisConnection, strategy: Strategy, keys: StockKeys, scriptSHA: String, user: String?,
        catalog: Bool = false, cluster: Bool = false, logger: Logger? = nil
    ) throws(SimulationError) -> Bool {
        let commands = commands(for: strategy, keys: keys, scriptSHA: scriptSHA, catalog: catalog)
        let setName = RedisCommand("CLIENT", "SETNAME", "stocksim-preflight")
        var user = user
        do {
            try checkServer(connection, strategy: strategy, keys: keys, user: user, cluster: cluster)
            try checkCommandsExist(connection, commands: commands, strategy: strategy)
            if let whoami = try? connection.send("ACL", "WHOAMI").string { user = whoami }
            if let user,
                let named = try dryRun(connection, commands, setName, strategy: strategy, keys: keys, user: user)
            {
                return named
            }
            if let named = try queueAndDiscard(
                connection, commands, setName, strategy: strategy, keys: keys, user: user)
            {
                return named
            }
            logger?.info(
                "preflight: neither ACL DRYRUN nor MULTI is available, so ACL permissions were not checked; a refusal will come from the first write",
                metadata: ["user": "\(user ?? "default")"])
            return true
        } catch let error as SimulationError {
            throw error
        } catch let error as RedisError {
            throw SimulationError(error.code == .serverError ? .badServerState : .redisUnavailable, error.message)
        } catch {
            throw SimulationError(.redisUnavailable, "\(error)")
        }
    }

    /// A cluster node, and memory full under noeviction (a server that may not run INFO passes).
    ///
    /// - Parameter cluster: the run is on a Redis Cluster (its owners are checked one by one): a cluster node passes.
    static func checkServer(
        _ connection: RedisConnection, strategy: Strategy, keys: StockKeys, user: String?, cluster: Bool = false
    ) throws(SimulationError) {
        guard let info = try? connection.send("INFO", "memory", "cluster").string else { return }
        var fields: [Substring: Substring] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        if fields["cluster_enabled"] == "1", !cluster, !ownsEverySlotAlone(connection) {
            throw explain(
                RedisErrorReply(code: "CLUSTERMODE", message: "INFO cluster says cluster_enabled:1"), command: "INFO",
                strategy: strategy, keys: keys, user: user)
        }
        if let limit = fields["maxmemory"].flatMap({ Int($0) }), limit > 0,
            let used = fields["used_memory"].flatMap({ Int($0) }), used >= limit,
            fields["maxmemory_policy"] == "noeviction"
        {
            throw explain(
                RedisErrorReply(
                    code: "OOM", message: "used_memory \(used) ≥ maxmemory \(limit) with maxmemory-policy noeviction"),
                command: "SET", strategy: strategy, keys: keys, user: user)
        }
    }

    /// A cluster of one node that holds all 16384 slots never redirects: it is a single node for every command.
    static func ownsEverySlotAlone(_ connection: RedisConnection) -> Bool {
        guard let info = try? connection.send("CLUSTER", "INFO").string else { return false }
        let lines = Set(info.split(whereSeparator: \.isNewline))
        return lines.contains("cluster_known_nodes:1") && lines.contains("cluster_slots_assigned:16384")
            && lines.contains("cluster_state:ok")
    }

    /// `COMMAND INFO` of every command: a renamed or disabled one answers nil. A user that may not run COMMAND passes.
    static func checkCommandsExist(_ connection: RedisConnection, commands: [RedisCommand], strategy: Strategy)
        throws(SimulationError)
    {
        let names = names(of: commands)
        let query = RedisCommand([RedisArgument("COMMAND"), RedisArgument("INFO")] + names.map { RedisArgument($0) })
        guard let reply = try? connection.send(query), let infos = reply.array, infos.count == names.count else {
            return
        }
        let missing = zip(names, infos).filter { $0.1.isNull }.map(\.0)
        guard !missing.isEmpty else { return }
        throw missingCommands(missing, needed: names, strategy: strategy)
    }

    static func missingCommands(_ missing: [String], needed: [String], strategy: Strategy) -> SimulationError {
        let list = missing.joined(separator: ", ")
        return SimulationError(
            .badServerState,
            "the server has no \(list) command (renamed or disabled with rename-command in its config?); the \(strategy) strategy needs \(needed.joined(separator: ", ")); restore \(list) in the server's config or choose another --strategy"
        )
    }

    /// `ACL DRYRUN` of every command. Returns `nil` when the server has no ACL DRYRUN or the user may not run it.
    static func dryRun(
        _ connection: RedisConnection, _ commands: [RedisCommand], _ setName: RedisCommand, strategy: Strategy,
        keys: StockKeys, user: String
    ) throws -> Bool? {
        let all = commands + [setName]
        let replies = try connection.pipeline(
            all.map { RedisCommand(["ACL", "DRYRUN", RedisArgument(user)] + $0.arguments.map { .bytes($0) }) })
        var named = true
        for (command, reply) in zip(all, replies) {
            switch reply {
            case .status("OK"):
                continue
            case .error(let refusal)
            where (refusal.code == "NOPERM" && refusal.message.contains("'acl")) || refusal.message.hasPrefix("unknown"):
                // The refusal is of ACL DRYRUN itself (not allowed, renamed, or a server before Redis 7).
                return nil
            case .error(let refusal) where refusal.message.hasPrefix("Command '"):
                throw missingCommands([command.name], needed: names(of: commands), strategy: strategy)
            case .error(let refusal):
                throw explain(refusal, command: command.name, strategy: strategy, keys: keys, user: user)
            default:
                // Redis 7 answers a denial as a bulk string: "This user has no permissions to run the 'x' command".
                if command == setName {
                    named = false
                    continue
                }
                let text = reply.string ?? "\(reply)"
                throw explain(
                    RedisErrorReply(code: "NOPERM", message: text), command: command.name, strategy: strategy,
                    keys: keys, user: user)
            }
        }
        return named
    }

    /// WATCH for real, then the other commands queued in a MULTI that is discarded. Returns `nil` when the server
    /// refused the MULTI (then nothing else was sent).
    static func queueAndDiscard(
        _ connection: RedisConnection, _ commands: [RedisCommand], _ setName: RedisCommand, strategy: Strategy,
        keys: StockKeys, user: String?
    ) throws -> Bool? {
        let transactional: Set<String> = ["WATCH", "MULTI", "EXEC", "DISCARD", "UNWATCH"]
        if strategy == .watch, let watch = commands.first(where: { $0.name == "WATCH" }) {
            let replies = try connection.pipeline([watch, RedisCommand("UNWATCH")])
            if let refusal = replies.first?.errorReply {
                throw explain(refusal, command: "WATCH", strategy: strategy, keys: keys, user: user)
            }
        }
        // MULTI alone first: were it refused, what follows would run for real.
        let multi = try connection.request(RedisCommand("MULTI"))
        if let refusal = multi.errorReply, commands.contains(where: { $0.name == "MULTI" }) {
            throw explain(refusal, command: "MULTI", strategy: strategy, keys: keys, user: user)
        }
        guard case .status = multi, connection.isInTransaction else { return nil }
        let queued = commands.filter { !transactional.contains($0.name) } + [setName]
        let replies = try connection.pipeline(queued + [RedisCommand("DISCARD")])
        var named = true
        for (command, reply) in zip(queued, replies) {
            guard let refusal = reply.errorReply else { continue }
            if command == setName {
                named = false
                continue
            }
            if refusal.message.hasPrefix("unknown command") {
                throw missingCommands([command.name], needed: names(of: commands), strategy: strategy)
            }
            throw explain(refusal, command: command.name, strategy: strategy, keys: keys, user: user)
        }
        return named
    }

    /// A refusal turned into one line that says what is wrong and what to do. Every Redis error reply the driver
    /// shows the user goes through here.
    ///
    /// - Parameters:
    ///   - refusal: the error reply.
    ///   - command: the command refused, for the message.
    ///   - strategy: the strategy of the run, for the list of commands it needs.
    ///   - keys: the run's keys, for the ACL grant to suggest.
    ///   - user: the ACL user, `nil` for `default`.
    static func explain(_ refusal: RedisErrorReply, command: String, strategy: Strategy, keys: StockKeys, user: String?)
        -> SimulationError
    {
        let name = command.uppercased()
        switch refusal.code {
        case "NOAUTH":
            return SimulationError(
                .redisUnavailable,
                "the server requires a password (\(refusal)); give it in the URL: redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port (percent-encode @, %, : and / in it, as %40, %25, %3A, %2F)"
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
        case "READONLY":
            return SimulationError(
                .badServerState,
                "the server is a read-only replica and refused \(name) (\(refusal)); point --redis at its primary (INFO replication shows master_host and master_port)"
            )
        case "CLUSTERMODE", "CLUSTERDOWN", "CROSSSLOT", "MOVED", "ASK", "TRYAGAIN":
            return SimulationError(
                .badServerState,
                "the server runs in Redis Cluster mode (\(refusal)), which StockSim does not support yet; point --redis at a standalone server (cluster-enabled no)"
            )
        case "MISCONF":
            return SimulationError(
                .badServerState,
                "the server refuses writes because it cannot save its snapshot (\(refusal)); fix its disk or dir, or set stop-writes-on-bgsave-error no"
            )
        case "LOADING":
            return SimulationError(
                .badServerState,
                "the server is still loading its data (\(refusal)); wait until it is done and run again")
        case "ERR" where refusal.message.hasPrefix("unknown command"):
            let missing =
                refusal.message.split(separator: "'").dropFirst().first.map { String($0).uppercased() } ?? name
            return missingCommands(
                [missing], needed: names(of: commands(for: strategy, keys: keys, scriptSHA: "")), strategy: strategy)
        default:
            return SimulationError(.badServerState, "Redis refused \(name): \(refusal)")
        }
    }
}

extension RedisError {
    /// The line to show the user: for a refusal whose code has advice in ``Preflight/explain(_:command:strategy:keys:user:)``
    /// (a replica, a cluster, ACL, memory, a renamed command), that advice; otherwise the message as it is.
    ///
    /// - Parameter configuration: the run, for the strategy and keys the advice names.
    func advised(for configuration: SimulationConfiguration, user: String?) -> String {
        guard let reply, code == .serverError, reply.code != "ERR" || reply.message.hasPrefix("unknown command") else {
            return message
        }
        // "Redis refused HSETNX {k}:ledger: …" names the command before the colon.
        let refused = message.hasPrefix("Redis refused ") ? message.dropFirst(14).prefix { $0 != ":" } : ""
        let command = refused.split(separator: " ").first.map(String.init) ?? "the command"
        let explained = Preflight.explain(
            reply, command: command, strategy: configuration.strategy, keys: StockKeys(stock: configuration.key),
            user: user)
        return explained.message.hasPrefix("Redis refused ") ? message : explained.message
    }
}
