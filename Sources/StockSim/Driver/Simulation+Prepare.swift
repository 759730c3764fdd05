import Hiredis

/// What `prepare` set up: the run's id, its stock and the script the workers call.
struct Preparation {
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
    /// Checks every stock key, then sets the stock, resets each group's ledger and loads the script.
    ///
    /// - Throws: `SimulationError` naming the key or the refused command; nothing is written before the checks.
    func prepare(on connection: RedisConnection) throws(SimulationError) -> Preparation {
        let layout = configuration.layout
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        // The command being sent, for a message that names it when Redis refuses.
        var step = "TYPE"
        do {
            let types = try connection.pipeline(
                (0..<layout.skus).map { RedisCommand("TYPE", RedisArgument(layout.stockKey($0))) })
            for (sku, reply) in types.enumerated() {
                if let refusal = reply.errorReply { throw RedisError.server(refusal, command: "TYPE") }
                try checkType(reply.string ?? "\(reply)", of: layout.stockKey(sku))
            }
            let perSKU: Int64
            if let stock = configuration.initialStock {
                perSKU = Int64(stock)
            } else {
                // --keep-stock: a single key's current value (validation refuses it for a catalog).
                step = "GET"
                let key = layout.stockKey(0)
                let value = try connection.send("GET", RedisArgument(key))
                guard let stock = value.int, stock >= 0 else {
                    throw SimulationError(
                        .badServerState,
                        "--keep-stock: the key '\(key)' holds \(value), not a whole number of units ≥ 0; SET it to one or pass --stock N"
                    )
                }
                perSKU = stock
            }
            let probe = StockKeys(
                stock: layout.stockKey(0), ledger: layout.ledgerKey(group: 0), run: layout.runKey(group: 0))
            // Before the first write, even SCRIPT LOAD: the preflight writes nothing, whatever it finds.
            let named = try Preflight.check(
                connection, strategy: configuration.strategy, keys: probe, scriptSHA: "",
                user: connection.endpoint.user, catalog: !layout.isSingleKey, logger: logger)
            for group in 0..<layout.groups {
                try LedgerOwnership.check(
                    StockKeys(
                        stock: layout.stockKey(0), ledger: layout.ledgerKey(group: group),
                        run: layout.runKey(group: group)),
                    on: connection)
            }
            step = "SCRIPT LOAD"
            let sha =
                configuration.strategy == .lua
                ? try LuaSale.load(on: connection) : try configuration.script?.load(on: connection) ?? ""
            if configuration.initialStock != nil {
                step = "SET"
                try send(
                    (0..<layout.skus).map {
                        RedisCommand("SET", RedisArgument(layout.stockKey($0)), RedisArgument(perSKU))
                    },
                    on: connection, step: step)
            }
            step = "HSET"
            try send(
                StockLedger(layout: layout).resetCommands(
                    runID: runID, initialStock: perSKU, configuration: configuration),
                on: connection, step: step)
            return Preparation(
                runID: runID, stockPerSKU: perSKU, initialStock: perSKU * Int64(layout.skus), scriptSHA: sha,
                namedWorkers: named)
        } catch let error as SimulationError {
            throw error
        } catch let error as RedisError {
            if let refusal = error.reply {
                throw Preflight.explain(
                    refusal, command: step, strategy: configuration.strategy,
                    keys: StockKeys(stock: layout.stockKey(0)), user: connection.endpoint.user)
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
