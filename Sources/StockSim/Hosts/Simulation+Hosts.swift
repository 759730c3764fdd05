import Hiredis

extension Simulation {
    /// The coordinator's session, opened once the stock is prepared; `nil` for a run of one host without a plan.
    ///
    /// - Throws: `SimulationError` when the run cannot be coordinated on this target.
    func openHostSession(_ prepared: Preparation, target: ResolvedTarget) throws(SimulationError) -> HostSession? {
        guard let hosts else { return nil }
        guard case .coordinator(let roster) = hosts.role else {
            throw SimulationError(.invalidConfiguration, "a joining host runs with Simulation.join(), not run()")
        }
        return try HostSession.open(
            hosts, roster: roster, prepared: prepared, configuration: configuration, endpoint: target.endpoint,
            cluster: target.cluster, logger: logger)
    }

    /// Joins a run of several hosts (`stocksim join`): reads the run's configuration from Redis (this host's own
    /// `configuration.workers` replaces the coordinator's), starts the workers, registers, sells from the start
    /// instant, and writes its report into the run's stream for the coordinator, which audits the whole sale.
    ///
    /// - Parameters:
    ///   - progress: called about ten times a second with this host's own figures.
    ///   - shouldStop: polled as often; the coordinator's stop reaches joiners too.
    /// - Returns: this host's row, as the coordinator's report will show it.
    /// - Throws: `SimulationError` when there is no run to join, it speaks another schema, it refused this host, or
    ///   the workers could not start.
    public func join(
        progress: (PoolProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }
    ) throws(SimulationError) -> SimulationReport.HostRow {
        guard let hosts, case .joiner(let run) = hosts.role else {
            throw SimulationError(.invalidConfiguration, "join() needs a HostPlan with the joiner role")
        }
        do {
            try HostPlan.validate(name: hosts.name)
            try configuration.validate()
        } catch {
            throw SimulationError(.invalidConfiguration, error.message)
        }
        let target = try ResolvedTarget(redis, logger: logger)
        defer { target.stop() }
        let session = try HostSession.join(
            hosts, run: run, endpoint: target.endpoint, cluster: target.cluster, logger: logger)
        defer { session.close() }
        let control = session.control
        var simulation = self
        simulation.configuration = control.configuration
        simulation.configuration.workers = configuration.workers
        // Faults of workers and Redis are the coordinator's host's; the kill-host fault comes with the start signal.
        simulation.configuration.chaos = ChaosPlan()
        // Each host draws its own orders: the run's seed mixed with the host's name.
        simulation.configuration.seed = control.configuration.seed ^ Self.nameHash(hosts.name)
        try DescriptorBudget.check(workers: simulation.configuration.workers)
        // The directory holds a user program's stderr; no worker records its sales (`recordsSales`).
        let records = try SaleRecords.create(runID: control.prepared.runID)
        defer { records.remove() }
        let sale = try simulation.runPool(
            control.prepared, records: records, target: target, session: session, progress: progress,
            shouldStop: shouldStop)
        return session.finish(sale)
    }

    /// FNV-1a of the name: a stable mix for the host's seed.
    static func nameHash(_ name: String) -> UInt64 {
        name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
