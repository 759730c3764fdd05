import Hiredis
import Histogram

extension SimulationReport {
    /// The report of a run, from its steps: what was prepared, what the pool did, the workers' tally and what Redis
    /// held afterwards, audited here.
    init(
        configuration: SimulationConfiguration, prepared: Preparation, sale: Simulation.Sale, tally: WorkerTally,
        readBack: Result<ReadBack, RedisError>, redis: String, embedded: Bool,
        witness: Result<WitnessResult, WitnessNotChecked>? = nil
    ) {
        let layout = configuration.layout
        let workerErrors = tally.workerErrors
        var incompleteReason = workerErrors.first.map { "a worker stopped on an error: \($0)" }
        let demandCutShort =
            sale.interrupted || sale.timeLimitReached || !workerErrors.isEmpty
            || (tally.dead > 0 && (configuration.orders != nil || tally.dead == tally.workers))
        var audit = AuditResult(
            passed: false, checked: configuration.recordsLedger ? "ledger" : "acknowledged-only", violations: [],
            notes: [])
        var finalStock: Int64?
        var sold = Int64(tally.counts.progress.units)
        var orders = tally.counts.progress.orders
        var skus: [SKU]?
        var scriptNote: String?
        switch readBack {
        case .success(var state):
            if configuration.strategy == .script || configuration.strategy == .command, let ledger = state.ledger,
                ledger.fields == 0, ledger.writes == 0
            {
                // The user's script ignored the ledger: the audit checks acknowledged sales against the stock.
                state.ledger = nil
                scriptNote =
                    "the \(configuration.strategy == .script ? "script" : "worker command") wrote no ledger entries: acknowledged sales were checked against Redis's stock, as with --no-ledger"
            }
            let perSKU = prepared.stockPerSKU
            finalStock =
                state.finalStock.contains(where: { $0 == nil }) ? nil : state.finalStock.reduce(0) { $0 + ($1 ?? 0) }
            sold = state.ledger.map { Int64($0.units) } ?? finalStock.map { prepared.initialStock - $0 } ?? sold
            orders = state.ledger?.orders ?? orders
            if configuration.isCatalog {
                skus = (0..<layout.skus).map { sku in
                    SKU(
                        key: layout.stockKey(sku), group: layout.group(of: sku), initial: perSKU,
                        final: state.finalStock[sku],
                        sold: state.ledger.map { Int64($0.unitsBySKU[sku]) } ?? state.finalStock[sku].map {
                            perSKU - $0
                        }
                            ?? 0,
                        acknowledged: tally.acknowledgedBySKU[sku])
                }
            }
            var evidence = Audit.Evidence(
                layout: layout, initialStock: perSKU, finalStock: state.finalStock, ledger: state.ledger,
                acknowledgedBySKU: tally.acknowledgedBySKU, acknowledgedOrders: tally.counts.progress.orders,
                rejectedOrders: tally.counts.rejected, deadWorkers: tally.dead, quantity: configuration.quantity,
                cartSize: configuration.cartSize, ordersLimit: configuration.orders, demandCutShort: demandCutShort,
                unresolvedOrders: tally.counts.unresolvedOrders, unresolvedUnits: tally.counts.unresolvedUnits)
            evidence.onlyTakesUnits = configuration.strategy.onlyTakesUnits
            evidence.workersFailed = !workerErrors.isEmpty
            evidence.unreachableGroups = state.unreachableGroups
            audit = Audit.check(evidence)
            if let lost = DecrKeyLoss.units(
                configuration.strategy, audit, initial: prepared.initialStock, final: finalStock, sold: sold)
            {
                incompleteReason =
                    incompleteReason
                    ?? "\(NumberText.count(lost, "unit")) left the stock that no sale took: the stock key was deleted or changed mid-run (decr's DECRBY creates a missing key anew, so it cannot tell)"
            }
            if let scriptNote { audit.notes.insert(scriptNote, at: 0) }
            if let witness { audit.add(witness: witness) }
        case .failure(let error):
            incompleteReason = incompleteReason ?? "could not read the final state back from Redis: \(error.message)"
            audit.checked = "not-performed"
            audit.notes.append("Redis could not be read back, so nothing was audited: \(error.message)")
        }
        let endReason = EndReason(
            sale: sale, tally: tally, failed: incompleteReason != nil, finalStock: finalStock)
        if endReason == .failed, incompleteReason == nil {
            incompleteReason = "every worker died (\(tally.dead) of \(tally.workers)) before the demand was met"
        }
        if sale.interrupted, incompleteReason == nil { incompleteReason = "stopped before the demand was met" }
        let elapsed = sale.elapsedSeconds
        self.init(
            runId: prepared.runID, redis: redis, embedded: embedded, key: configuration.key,
            ledgerKey: (0..<layout.groups).map(layout.ledgerKey(group:)).joined(separator: ", "),
            workers: configuration.workers, strategy: configuration.strategy, ledger: configuration.recordsLedger,
            quantity: configuration.quantity.description, ordersLimit: configuration.orders,
            backoff: configuration.backoff.description, backoffWait: configuration.backoffWait.rawValue,
            watchAhead: configuration.watchesAheadInEffect,
            maxAttempts: configuration.maxAttempts,
            seed: configuration.seed,
            stock: Stock(initial: prepared.initialStock, final: finalStock), sold: sold, orders: orders,
            acknowledged: tally.counts.progress.units, acknowledgedOrders: tally.counts.progress.orders,
            rejectedOrders: tally.counts.rejected, gaveUpOrders: tally.counts.gaveUp,
            attempts: tally.counts.progress.attempts,
            conflicts: tally.counts.progress.conflicts, unknownOutcomes: tally.counts.unknownOutcomes,
            recoveredOutcomes: tally.counts.recovered,
            unresolvedOrders: tally.counts.unresolvedOrders, unresolvedUnits: tally.counts.unresolvedUnits,
            reconnects: tally.counts.reconnects,
            conflictRate: tally.counts.progress.attempts == 0
                ? 0 : Double(tally.counts.progress.conflicts) / Double(tally.counts.progress.attempts),
            elapsedSeconds: elapsed, salesPerSecond: elapsed > 0 ? Double(sold) / elapsed : 0,
            retriesPerSale: Percentiles(tally.retries), latencyUs: Percentiles(tally.latency),
            perWorkerSold: Spread(
                min: tally.perWorker.first ?? 0,
                median: tally.perWorker.isEmpty ? 0 : tally.perWorker[tally.perWorker.count / 2],
                max: tally.perWorker.last ?? 0),
            spawnSeconds: sale.spawnSeconds, workerPeakRssBytes: tally.peakRSSBytes, workerFailures: tally.failures,
            completed: incompleteReason == nil && !sale.interrupted, incompleteReason: incompleteReason,
            interrupted: sale.interrupted, endReason: endReason, faults: sale.faults,
            faultsNotInjected: sale.faultsNotInjected, skuCount: configuration.skus,
            groups: configuration.groups, skew: configuration.skew.description, cartSize: configuration.cartSize,
            skus: skus, audit: audit)
        ledgerKeys = (0..<layout.groups).map(layout.ledgerKey(group:))
        seedString = String(configuration.seed)
        unitsPerSecond = salesPerSecond
        ordersPerSecond = elapsed > 0 ? Double(orders) / elapsed : 0
        openLoop = configuration.arrival.map { arrival in
            OpenLoop(
                arrival: arrival.process, targetRate: arrival.rate,
                achievedRate: elapsed > 0 ? Double(tally.counts.placedOrders) / elapsed : 0,
                ordersPlaced: tally.counts.placedOrders, latencyUsCorrected: Percentiles(tally.correctedLatency),
                latencyUsUncorrected: latencyUs, maxBehindMs: Double(tally.maxBehindNanoseconds) / 1e6,
                finalBehindMs: Double(tally.finalBehindNanoseconds) / 1e6)
        }
    }
}

extension SimulationReport.Percentiles {
    /// The percentiles of a histogram; zeros when it is empty.
    init(_ histogram: Histogram<UInt64>) {
        guard histogram.totalCount > 0 else {
            self.init(p50: 0, p90: 0, p99: 0, p999: 0, max: 0)
            return
        }
        self.init(
            p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
            p99: histogram.valueAtPercentile(99), p999: histogram.valueAtPercentile(99.9), max: histogram.max)
    }
}

extension SimulationReport.Master {
    /// Each owner's figures: its groups, their units sold (by the read-back, else as acknowledged) and its CPU.
    static func figures(
        _ topology: ClusterTopology, layout: CatalogLayout, readBack: Result<ReadBack, RedisError>, tally: WorkerTally,
        cpuBefore: [Double?], cpuAfter: [Double?]
    ) -> [SimulationReport.Master] {
        let state = try? readBack.get()
        return topology.owners.enumerated().map { index, owner in
            let sold = owner.groups.flatMap { layout.skus(in: $0) }.reduce(Int64(0)) { total, sku in
                let ledger = state?.ledger.map { Int64($0.unitsBySKU[sku]) }
                return total + (ledger ?? Int64(tally.acknowledgedBySKU[sku]))
            }
            let cpu = cpuBefore[index].flatMap { before in cpuAfter[index].map { $0 - before } }
            return SimulationReport.Master(
                address: owner.address?.description ?? "", groups: owner.groups, sold: sold, redisCpuSeconds: cpu)
        }
    }
}
