import Hiredis

/// What `prepare` set up: the run's id, its stock and the script the workers call. A run of several hosts hands it
/// to the joining hosts in its `RunControl`.
struct Preparation: Codable, Sendable, Equatable {
    var runID: String
    /// Each SKU's initial stock.
    var stockPerSKU: Int64
    /// Over every SKU.
    var initialStock: Int64
    /// `lua`'s script, as SCRIPT LOAD returned it; empty for other strategies.
    var scriptSHA: String
    /// Whether workers may name their connections (`CLIENT SETNAME`).
    var namedWorkers: Bool
}

extension Simulation {
    /// Checks every stock key, then sets the stock, resets each group's ledger and loads the script, on each owner
    /// of the run's groups (the one node, or every master of a cluster that owns groups) for that owner's keys only,
    /// so no command spans slots.
    ///
    /// - Throws: `SimulationError` naming the key or the refused command; nothing is written before the checks.
    func prepare(on topology: ClusterTopology) throws(SimulationError) -> Preparation {
        let layout = configuration.layout
        let runID = Simulation.runID(UInt32.random(in: 0...UInt32.max))
        // The command being sent, for a message that names it when Redis refuses.
        var step = "TYPE"
        var user: String?
        do {
            let owners = try topology.owners.map { owner throws(SimulationError) in
                (owner, try topology.connection(owner))
            }
            for (owner, connection) in owners {
                user = connection.endpoint.user
                let skus = owner.groups.flatMap { layout.skus(in: $0) }
                let types = try connection.pipeline(
                    skus.map { RedisCommand("TYPE", RedisArgument(layout.stockKey($0))) })
                for (sku, reply) in zip(skus, types) {
                    if let refusal = reply.errorReply { throw RedisError.server(refusal, command: "TYPE") }
                    try checkType(reply.string ?? "\(reply)", of: layout.stockKey(sku))
                }
            }
            let perSKU: Int64
            if let stock = configuration.initialStock {
                perSKU = Int64(stock)
            } else {
                // --keep-stock: a single key's current value (validation refuses it for a catalog).
                step = "GET"
                let key = layout.stockKey(0)
                let value = try topology.router.connection(for: 0).send("GET", RedisArgument(key))
                guard let stock = value.int, stock >= 0 else {
                    throw SimulationError(
                        .badServerState,
                        "--keep-stock: the key '\(key)' holds \(value), not a whole number of units ≥ 0; SET it to one or pass --stock N"
                    )
                }
                perSKU = stock
            }
            var named = true
            for (owner, connection) in owners {
                let first = owner.groups.first ?? 0
                let probe = StockKeys(
                    stock: layout.stockKey(layout.skus(in: first).first ?? 0), ledger: layout.ledgerKey(group: first),
                    run: layout.runKey(group: first))
                // Before the first write, even SCRIPT LOAD: the preflight writes nothing, whatever it finds.
                let ownerNamed = try Preflight.check(
                    connection, strategy: configuration.strategy, keys: probe, scriptSHA: "",
                    user: connection.endpoint.user, catalog: !layout.isSingleKey, cluster: topology.isCluster,
                    logger: logger)
                named = named && ownerNamed
                for group in owner.groups {
                    try LedgerOwnership.check(
                        StockKeys(
                            stock: layout.stockKey(0), ledger: layout.ledgerKey(group: group),
                            run: layout.runKey(group: group)),
                        on: connection)
                }
            }
            var sha = ""
            for (owner, connection) in owners {
                step = "SCRIPT LOAD"
                // Every owner loads the script (EVALSHA runs where the keys' slot lives); the SHA is the same on each.
                if configuration.strategy == .lua {
                    sha = try LuaSale.load(on: connection)
                } else if let script = configuration.script {
                    sha = try script.load(on: connection)
                }
                if configuration.initialStock != nil {
                    step = "SET"
                    try send(
                        owner.groups.flatMap { layout.skus(in: $0) }.map {
                            RedisCommand("SET", RedisArgument(layout.stockKey($0)), RedisArgument(perSKU))
                        },
                        on: connection, step: step)
                }
                step = "HSET"
                try send(
                    StockLedger(layout: layout).resetCommands(
                        runID: runID, initialStock: perSKU, configuration: configuration, groups: owner.groups),
                    on: connection, step: step)
            }
            return Preparation(
                runID: runID, stockPerSKU: perSKU, initialStock: perSKU * Int64(layout.skus), scriptSHA: sha,
                namedWorkers: named)
        } catch let error as SimulationError {
            throw error
        } catch let error as RedisError {
            if let refusal = error.reply {
                throw Preflight.explain(
                    refusal, command: step, strategy: configuration.strategy,
                    keys: StockKeys(stock: layout.stockKey(0)), user: user)
            }
            throw SimulationError(error.code == .serverError ? .badServerState : .redisUnavailable, error.message)
        } catch let error as UserScriptError {
            throw SimulationError(.badServerState, error.description)
        } catch {
            throw SimulationError(.redisUnavailable, "\(error)")
        }
    }

    /// A stock key must be a string (or absent, unless its current value is to be kept).
    private func checkType(_ type: String, of key: String) throws(SimulationError) {
        if configuration.initialStock != nil {
            guard type == "none" || type == "string" else {
                throw SimulationError(
                    .badServerState,
                    "the key '\(key)' holds a \(type), not a stock count; choose another --key or delete it")
            }
            return
        }
        guard type != "none" else {
            throw SimulationError(
                .badServerState,
                "--keep-stock: the key '\(key)' does not exist; set it first (SET \(key) 100) or pass --stock N")
        }
        guard type == "string" else {
            throw SimulationError(
                .badServerState,
                "--keep-stock: the key '\(key)' holds a \(type), not a stock count; choose another --key")
        }
    }

    private func send(_ commands: [RedisCommand], on connection: RedisConnection, step: String) throws(RedisError) {
        if let refusal = try connection.pipeline(commands).lazy.compactMap(\.errorReply).first {
            throw RedisError.server(refusal, command: step)
        }
    }
}
