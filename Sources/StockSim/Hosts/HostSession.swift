import Foundation
import Hiredis
import Logging
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// One host's side of a run of several hosts, over a control connection of its own: registration, the start
/// barrier, heartbeat, progress and the final report in the run's stream; on the coordinator also the roster, the
/// start instant, the other hosts' messages and the verdict on lost ones. Every hook runs on the driver's thread.
final class HostSession {
    /// What the coordinator knows about another host.
    struct Peer {
        var registration: HostRegistration
        var progress: HostProgress?
        var report: HostReport?
        var killed: HostProgress?
        var lost = false
        /// The size of its report's stream entry, which its report cannot count itself.
        var reportBytes = 0
    }

    let plan: HostPlan
    let control: RunControl
    private let connection: RedisConnection
    private let logger: Logger
    private(set) var clock = ClockOffset(offsetMicroseconds: 0, roundTripMicroseconds: 0)
    private(set) var start: StartSignal?
    private var registration: HostRegistration?
    private var releaseLag: Int64 = 0
    private(set) var streamEntries = 0
    private(set) var streamBytes = 0
    private var nextHeartbeat: Int64 = 0
    private var nextProgress: Int64 = 0
    private var nextRead: Int64 = 0
    /// A joiner learns it from `control.stop`; the coordinator sets it when it is stopped.
    private(set) var stopRequested = false
    private var stopPublished = false
    /// The coordinator's view of the others, by name, and their order.
    private(set) var peers: [String: Peer] = [:]
    private var lastStreamID = "0-0"
    private var undecodable: [String] = []
    /// The run's seconds: on the coordinator every host's, the other hosts' as they forward them; on a joiner its own
    /// workers', forwarded once complete.
    private var intervals: IntervalTally?

    var keys: RunControlKeys { control.keys }
    var isCoordinator: Bool { control.coordinator == plan.name }
    var name: String { plan.name }

    private init(
        plan: HostPlan, control: RunControl, connection: RedisConnection, logger: Logger
    ) {
        self.plan = plan
        self.control = control
        self.connection = connection
        self.logger = logger
    }

    /// The connection for the control keys: to the server, or on a Redis Cluster to the master of their one slot.
    private static func connect(_ endpoint: RedisEndpoint, cluster: RedisClusterEndpoint?) throws(SimulationError)
        -> RedisConnection
    {
        let options = RedisConnection.Options(
            connectTimeout: .seconds(2), commandTimeout: .seconds(2), reconnect: .onNextCommand)
        do {
            guard let cluster else { return try RedisConnection(endpoint: endpoint, options: options) }
            return try RedisClusterClient(endpoint: cluster, options: options)
                .connection(for: HashSlot(key: RunControlKeys.open))
        } catch {
            throw SimulationError(.redisUnavailable, error.message)
        }
    }

    // MARK: Opening and joining

    /// The coordinator opens the run: writes its control hash and points `{stocksim:run}:open` at it.
    ///
    /// - Throws: `SimulationError` when Redis refuses.
    static func open(
        _ plan: HostPlan, roster: HostRoster, prepared: Preparation, configuration: SimulationConfiguration,
        endpoint: RedisEndpoint, cluster: RedisClusterEndpoint?, logger: Logger
    ) throws(SimulationError) -> HostSession {
        let connection = try connect(endpoint, cluster: cluster)
        let control = RunControl(
            coordinator: plan.name, roster: roster, configuration: configuration, prepared: prepared)
        let keys = control.keys
        let encoded = (try? JSONEncoder.hostMessages.encode(control)) ?? Data()
        let retention = RedisArgument(RunControlKeys.runningRetentionSeconds)
        let session = HostSession(plan: plan, control: control, connection: connection, logger: logger)
        try session.send([
            RedisCommand("DEL", RedisArgument(keys.control), RedisArgument(keys.hosts), RedisArgument(keys.stream)),
            RedisCommand(
                "HSET", RedisArgument(keys.control), "schema", RedisArgument(RunControl.schemaVersion), "run",
                .bytes(Array(encoded))),
            RedisCommand("EXPIRE", RedisArgument(keys.control), retention),
            RedisCommand(
                "SET", RedisArgument(RunControlKeys.open), RedisArgument(prepared.runID), "PX",
                RedisArgument(plan.joinTimeoutMilliseconds + 5_000)),
        ])
        logger.info("run open for hosts", metadata: ["run": "\(prepared.runID)", "roster": "\(roster)"])
        plan.announce(prepared.runID)
        return session
    }

    /// A joiner finds the run (the one named, else the open one), waiting for it up to the join timeout, and
    /// checks that it speaks this schema and has not started.
    ///
    /// - Throws: `SimulationError` naming the run, the schema, or what did not come in time.
    static func join(
        _ plan: HostPlan, run: String?, endpoint: RedisEndpoint, cluster: RedisClusterEndpoint?, logger: Logger
    ) throws(SimulationError) -> HostSession {
        let connection = try connect(endpoint, cluster: cluster)
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(plan.joinTimeoutMilliseconds)
        while true {
            var runID = run
            do throws(RedisError) {
                if runID == nil { runID = try connection.send("GET", RedisArgument(RunControlKeys.open)).string }
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
            if let runID {
                let keys = RunControlKeys(runID: runID)
                let fields: [RedisReply]
                do {
                    fields =
                        try connection.send(
                            "HMGET", RedisArgument(keys.control), "schema", "run", "start"
                        ).array ?? []
                } catch {
                    throw SimulationError(.redisUnavailable, error.message)
                }
                if fields.count == 3, let schema = fields[0].string {
                    guard schema == String(RunControl.schemaVersion) else {
                        throw SimulationError(
                            .badServerState,
                            "run \(runID) speaks control schema \(schema), this stocksim speaks \(RunControl.schemaVersion): refused; run the same stocksim version on every host"
                        )
                    }
                    guard let bytes = fields[1].bytes,
                        let control = try? JSONDecoder().decode(RunControl.self, from: Data(bytes))
                    else {
                        throw SimulationError(
                            .badServerState,
                            "run \(runID)'s control hash (\(keys.control)) does not decode as schema \(schema); it was written by something else"
                        )
                    }
                    guard fields[2].isNull else {
                        throw SimulationError(
                            .badServerState,
                            "run \(runID) has already started; a host joins before the coordinator's start instant")
                    }
                    return HostSession(
                        plan: plan, control: control, connection: connection, logger: logger)
                }
            }
            guard clock.now < deadline else {
                throw SimulationError(
                    .hostsDidNotJoin,
                    run.map {
                        "no run \($0) was opened within the join timeout (\(plan.joinTimeoutMilliseconds) ms); start the coordinator (stocksim run --hosts N) first or check --run"
                    }
                        ?? "no run was open for hosts (\(RunControlKeys.open) is not set) within the join timeout (\(plan.joinTimeoutMilliseconds) ms); start the coordinator (stocksim run --hosts N) first"
                )
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    // MARK: The barrier

    /// Measures the offset to Redis's clock, registers (its workers are connected and ready), waits for the start
    /// signal (the coordinator first waits for the roster and sets it), and returns at the start instant.
    ///
    /// - Throws: `SimulationError` when the roster is not complete within the join timeout (naming who did not
    ///   come and who was refused), when this host was refused, or when Redis cannot be reached.
    func awaitStart(workers: Int) throws(SimulationError) {
        do {
            clock = try ClockOffset.measure(on: connection)
        } catch {
            throw SimulationError(.redisUnavailable, error.message)
        }
        heartbeat()
        let mine = HostRegistration(
            name: plan.name, workers: workers, registeredAtMicroseconds: clock.server(ClockOffset.localMicroseconds()))
        registration = mine
        let encoded = (try? JSONEncoder.hostMessages.encode(mine)) ?? Data()
        let added: Int64
        do {
            added =
                try connection.send(
                    "HSETNX", RedisArgument(keys.hosts), RedisArgument(plan.name), .bytes(Array(encoded))
                ).int ?? 0
            _ = try connection.send(
                "EXPIRE", RedisArgument(keys.hosts), RedisArgument(RunControlKeys.runningRetentionSeconds))
        } catch {
            throw SimulationError(.redisUnavailable, error.message)
        }
        guard added == 1 else {
            throw SimulationError(
                .invalidConfiguration,
                "a host named '\(plan.name)' is already registered in run \(keys.runID); give each host its own --host-name"
            )
        }
        let signal = isCoordinator ? try gatherRoster() : try awaitSignal()
        start = signal
        if isCoordinator {
            for host in signal.hosts where host != plan.name { intervals?.expect(.host(host)) }
        }
        sleepUntil(signal.atMicroseconds)
        let now = ClockOffset.localMicroseconds()
        nextHeartbeat = now
        // The first progress entry at the release, then one a second.
        nextProgress = now
        logger.info(
            "released at the start instant",
            metadata: [
                "host": "\(plan.name)", "offset_us": "\(clock.offsetMicroseconds)",
                "rtt_us": "\(clock.roundTripMicroseconds)", "lag_us": "\(releaseLag)",
            ])
    }

    /// The coordinator: waits for the roster, refusing registrations of another schema or name, then sets the start.
    private func gatherRoster() throws(SimulationError) -> StartSignal {
        let roster = control.roster
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(plan.joinTimeoutMilliseconds)
        var refused: [String: String] = [:]
        var accepted: [HostRegistration] = []
        while true {
            accepted = []
            let entries: [RedisReply]
            do {
                entries = try connection.send("HGETALL", RedisArgument(keys.hosts)).array ?? []
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
            var index = 0
            while index + 1 < entries.count {
                defer { index += 2 }
                let name = entries[index].string ?? "?"
                guard refused[name] == nil else { continue }
                let bytes = entries[index + 1].bytes ?? []
                guard let registration = try? JSONDecoder().decode(HostRegistration.self, from: Data(bytes)) else {
                    refuse(
                        name, "its registration does not decode as control schema \(RunControl.schemaVersion)", &refused
                    )
                    continue
                }
                if registration.schema != RunControl.schemaVersion {
                    refuse(
                        name,
                        "it speaks control schema \(registration.schema) (stocksim \(registration.version)), this coordinator \(RunControl.schemaVersion) (stocksim \(HostSession.version))",
                        &refused)
                } else if !roster.names.isEmpty, !roster.names.contains(name) {
                    refuse(name, "it is not in --hosts \(roster.names.joined(separator: ","))", &refused)
                } else {
                    accepted.append(registration)
                }
            }
            accepted.sort { $0.registeredAtMicroseconds < $1.registeredAtMicroseconds }
            if accepted.count >= roster.count { break }
            guard clock.now < deadline else {
                _ = try? connection.send("DEL", RedisArgument(RunControlKeys.open))
                let came = accepted.map(\.name)
                let missing =
                    roster.names.isEmpty
                    ? "\(roster.count - accepted.count) of \(NumberText.count(roster.count, "host")) did not come"
                    : "did not come: \(roster.names.filter { !came.contains($0) }.joined(separator: ", "))"
                let refusals =
                    refused.isEmpty
                    ? ""
                    : "; refused: "
                        + refused.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
                throw SimulationError(
                    .hostsDidNotJoin,
                    "run \(keys.runID): the hosts did not all register within the join timeout (\(plan.joinTimeoutMilliseconds) ms): \(missing) (registered: \(came.joined(separator: ", ")))\(refusals); start 'stocksim join --redis URL --run \(keys.runID) --host-name NAME' on each, or raise --join-timeout"
                )
            }
            heartbeat()
            Thread.sleep(forTimeInterval: 0.05)
        }
        accepted = Array(accepted.prefix(roster.count))
        let others = accepted.filter { $0.name != plan.name }
        for registration in others { peers[registration.name] = Peer(registration: registration) }
        let lastRegistration = accepted.map(\.registeredAtMicroseconds).max() ?? 0
        let now: Int64
        do {
            now = try ClockOffset.measure(on: connection, count: 1).server(ClockOffset.localMicroseconds())
        } catch {
            throw SimulationError(.redisUnavailable, error.message)
        }
        var signal = StartSignal(
            atMicroseconds: max(now, lastRegistration) + Int64(plan.startMarginMilliseconds) * 1_000,
            hosts: [plan.name] + others.map(\.name))
        let chaos = control.configuration.chaos
        if chaos.killHost > 0 {
            // The hosts that registered last die; a point of their own progress drawn from the seed, as the
            // nemesis draws its points: between 5% and 80% of their share of the stock.
            signal.victims = Array(others.suffix(chaos.killHost).map(\.name))
            var random = SplitMix64(seed: control.configuration.seed ^ 0x4B11_1405_7000_0001)
            let share = max(1, Int(control.prepared.initialStock) / roster.count)
            let low = max(1, share / 20)
            signal.killAtUnits = Int.random(in: low..<max(low + 1, share * 4 / 5), using: &random)
        }
        let encoded = (try? JSONEncoder.hostMessages.encode(signal)) ?? Data()
        try send([
            RedisCommand("HSET", RedisArgument(keys.control), "start", .bytes(Array(encoded))),
            RedisCommand("DEL", RedisArgument(RunControlKeys.open)),
        ])
        return signal
    }

    private func refuse(_ name: String, _ reason: String, _ refused: inout [String: String]) {
        refused[name] = reason
        logger.warning("host refused", metadata: ["host": "\(name)", "reason": "\(reason)"])
        _ = try? connection.send(
            "HSET", RedisArgument(keys.control), RedisArgument("refused:" + name), RedisArgument(reason))
    }

    /// A joiner: waits for the start signal, or its refusal.
    private func awaitSignal() throws(SimulationError) -> StartSignal {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(plan.joinTimeoutMilliseconds)
        while true {
            let fields: [RedisReply]
            do {
                fields =
                    try connection.send(
                        "HMGET", RedisArgument(keys.control), "start", RedisArgument("refused:" + plan.name)
                    ).array ?? []
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
            if fields.count == 2, let reason = fields[1].string {
                throw SimulationError(
                    .badServerState, "run \(keys.runID)'s coordinator refused this host '\(plan.name)': \(reason)")
            }
            if fields.count == 2, let bytes = fields[0].bytes {
                guard let signal = try? JSONDecoder().decode(StartSignal.self, from: Data(bytes)) else {
                    throw SimulationError(
                        .badServerState, "run \(keys.runID)'s start signal does not decode: \(fields[0])")
                }
                guard signal.hosts.contains(plan.name) else {
                    throw SimulationError(
                        .hostsDidNotJoin,
                        "run \(keys.runID) started without this host '\(plan.name)' (its roster was full: \(signal.hosts.joined(separator: ", ")))"
                    )
                }
                return signal
            }
            guard clock.now < deadline else {
                throw SimulationError(
                    .hostsDidNotJoin,
                    "run \(keys.runID): the coordinator '\(control.coordinator)' did not start the run within the join timeout (\(plan.joinTimeoutMilliseconds) ms) after this host registered"
                )
            }
            heartbeat()
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Sleeps until the start instant on this host's clock (at most the margin and ten seconds more: an offset that
    /// far off is a clock that jumped, and waiting longer helps nobody).
    private func sleepUntil(_ serverMicroseconds: Int64) {
        let target = clock.local(serverMicroseconds)
        let limit = ClockOffset.localMicroseconds() + Int64(plan.startMarginMilliseconds) * 1_000 + 10_000_000
        while true {
            let now = ClockOffset.localMicroseconds()
            if now >= target || now >= limit { break }
            usleep(UInt32(min(target - now, 20_000)))
        }
        releaseLag = ClockOffset.localMicroseconds() - target
    }

    /// Where the run's seconds go: the coordinator expects a source per other host of the start signal (named in
    /// `awaitStart`), a joiner forwards the complete seconds of `intervals` once a second and before its report.
    func follow(_ intervals: IntervalTally) {
        self.intervals = intervals
    }

    // MARK: While the workers sell

    /// Called with the pool's progress about every 20 ms: heartbeat, progress into the stream, the coordinator's
    /// reading of the others, and `--chaos kill-host`.
    func tick(_ progress: PoolProgress, liveWorkers: [Int32]) {
        let now = ClockOffset.localMicroseconds()
        if now >= nextHeartbeat {
            nextHeartbeat = now + Int64(plan.heartbeatMilliseconds) * 1_000 / 6
            heartbeat()
        }
        if now >= nextProgress {
            nextProgress = now + 1_000_000
            publish(.progress(hostProgress(progress)))
            forwardIntervals()
        }
        if isCoordinator, now >= nextRead {
            nextRead = now + 250_000
            readStream()
            checkAlive()
        }
        if let start, start.victims.contains(plan.name), progress.units >= start.killAtUnits {
            // The fault: announce it, then SIGKILL the workers and this driver, with no report and no goodbye.
            publish(.killed(hostProgress(progress)))
            for pid in liveWorkers { kill(pid, SIGKILL) }
            kill(getpid(), SIGKILL)
        }
    }

    /// The coordinator's display: its own progress plus every other host's last.
    func merged(_ progress: PoolProgress) -> PoolProgress {
        var totals = progress.totals
        for peer in peers.values {
            if let report = peer.report {
                totals += WorkerTally(report.workers.map(\.outcome), skus: 1).counts.progress
            } else if let last = peer.killed ?? peer.progress {
                totals += last.totals
            }
        }
        return PoolProgress(totals, elapsed: progress.elapsed)
    }

    /// Asks every host to stop (the coordinator was stopped), or reports whether the coordinator asked.
    func shouldStop(localStop: Bool) -> Bool {
        if localStop, isCoordinator, !stopPublished {
            stopPublished = true
            _ = try? connection.send("HSET", RedisArgument(keys.control), "stop", "1")
        }
        return localStop || stopRequested
    }

    private func hostProgress(_ progress: PoolProgress) -> HostProgress {
        HostProgress(host: plan.name, totals: progress.totals, elapsed: progress.elapsed)
    }

    /// A joiner writes the seconds its workers have completed into the stream, all of its workers' latencies of a
    /// second added up, so the coordinator folds the host like one more worker.
    private func forwardIntervals() {
        guard !isCoordinator, let seconds = intervals?.takeComplete(), !seconds.isEmpty else { return }
        publish(.intervals(HostIntervals(host: plan.name, seconds: seconds)))
    }

    /// Refreshes this host's heartbeat key; a joiner also reads whether the coordinator asked to stop.
    private func heartbeat() {
        let alive = RedisCommand(
            "SET", RedisArgument(keys.alive(plan.name)), "1", "PX", RedisArgument(plan.heartbeatMilliseconds))
        if isCoordinator {
            _ = try? connection.send(alive)
            return
        }
        let replies = try? connection.pipeline([alive, RedisCommand("HGET", RedisArgument(keys.control), "stop")])
        if let replies, replies.count == 2, replies[1].string == "1" { stopRequested = true }
    }

    /// XADDs a message, bounded: the coordinator reads the stream four times a second, so trimmed entries are old.
    private func publish(_ message: HostMessage) {
        let fields = message.fields()
        let command = RedisCommand(
            [RedisArgument("XADD"), RedisArgument(keys.stream), "MAXLEN", "~", 2000, "*"] + fields)
        do {
            _ = try connection.send(command)
            streamEntries += 1
            streamBytes += command.arguments.dropFirst(6).reduce(0) { $0 + $1.count }
        } catch {
            logger.info("could not write to the run's stream", metadata: ["error": "\(error.message)"])
        }
    }

    /// The coordinator reads what the others wrote since it last looked.
    private func readStream() {
        for _ in 0..<50 {
            guard
                let reply = try? connection.send(
                    "XREAD", "COUNT", 500, "STREAMS", RedisArgument(keys.stream), RedisArgument(lastStreamID)),
                let streams = reply.array, let entries = streams.first?.array?.last?.array, !entries.isEmpty
            else { return }
            for entry in entries {
                guard let parts = entry.array, parts.count == 2, let id = parts[0].string else { continue }
                lastStreamID = id
                do {
                    let message = try HostMessage(fields: parts[1].array ?? [])
                    guard var peer = peers[message.host] else { continue }
                    switch message {
                    case .progress(let progress): peer.progress = progress
                    case .intervals(let forwarded):
                        for second in forwarded.seconds { intervals?.add(second, from: .host(forwarded.host)) }
                    case .report(let report):
                        peer.report = report
                        peer.reportBytes = (parts[1].array ?? []).reduce(0) { $0 + ($1.bytes?.count ?? 0) }
                        // It forwarded every second before its report.
                        intervals?.end(.host(report.host))
                    case .killed(let progress): peer.killed = progress
                    }
                    peers[message.host] = peer
                } catch {
                    if undecodable.count < 5 { undecodable.append(error.message) }
                }
            }
            if entries.count < 500 { return }
        }
    }

    /// A host that has not reported and whose heartbeat key is gone is lost (its report is looked for once more
    /// first: a host deletes its heartbeat only after writing its report).
    private func checkAlive() {
        let waiting = peers.values.filter { $0.report == nil && !$0.lost }.map(\.registration.name).sorted()
        guard !waiting.isEmpty,
            let replies = try? connection.pipeline(
                waiting.map { RedisCommand("EXISTS", RedisArgument(keys.alive($0))) })
        else { return }
        let gone = zip(waiting, replies).filter { $0.1.int == 0 }.map(\.0)
        guard !gone.isEmpty else { return }
        readStream()
        for name in gone where peers[name]?.report == nil {
            peers[name]?.lost = true
            intervals?.end(.host(name))
            logger.info("host lost: its heartbeat expired", metadata: ["host": "\(name)"])
        }
    }

    // MARK: The end

    /// This host's report, from its pool's sale.
    func report(_ sale: Simulation.Sale) -> HostReport {
        HostReport(
            host: plan.name, workers: sale.outcomes.map(HostReport.Worker.init), spawnSeconds: sale.spawnSeconds,
            elapsedSeconds: sale.elapsedSeconds, clock: clock, releaseLagMicroseconds: releaseLag,
            streamEntries: streamEntries, streamBytes: streamBytes)
    }

    /// A joiner writes its last seconds and its report into the stream, then lets its heartbeat go.
    func finish(_ sale: Simulation.Sale) -> SimulationReport.HostRow {
        intervals?.endAll()
        forwardIntervals()
        let mine = report(sale)
        publish(.report(mine))
        var final = mine
        final.streamEntries = streamEntries
        final.streamBytes = streamBytes
        _ = try? connection.send("DEL", RedisArgument(keys.alive(plan.name)))
        return SimulationReport.HostRow(final, skus: control.configuration.skus)
    }

    /// The coordinator waits until every other host has reported or is lost (bounded: a live host's heartbeat keeps
    /// it waiting for at most fifteen minutes), then merges their workers into the sale.
    func gather(_ sale: Simulation.Sale) -> Simulation.Sale {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(900)
        while clock.now < deadline {
            readStream()
            checkAlive()
            if peers.values.allSatisfy({ $0.report != nil || $0.lost }) { break }
            heartbeat()
            Thread.sleep(forTimeInterval: 0.05)
        }
        for name in peers.keys where peers[name]?.report == nil {
            peers[name]?.lost = true
            intervals?.end(.host(name))
        }
        var merged = sale
        for name in start?.hosts ?? [] {
            guard let peer = peers[name] else { continue }
            if let report = peer.report {
                merged.outcomes += report.workers.map(\.outcome)
                merged.elapsedSeconds = max(merged.elapsedSeconds, report.elapsedSeconds)
                merged.spawnSeconds = max(merged.spawnSeconds, report.spawnSeconds)
                continue
            }
            // A lost host's workers count as dead workers, with what its last message said they had acknowledged.
            let last = peer.killed ?? peer.progress
            let workers = max(1, peer.registration.workers)
            merged.outcomes += (0..<workers).map { index in
                WorkerOutcome(
                    index: index, pid: 0, report: nil, termination: .exited(-1), peakRSSBytes: 0,
                    lastProgress: index == 0 ? last?.totals ?? WorkerProgress() : WorkerProgress(),
                    // No failure text: a lost host is like workers killed mid-run, not workers that stopped on an
                    // error; `lost_hosts` and the audit's note name it.
                    failure: nil)
            }
            if let killed = peer.killed {
                merged.faults.append(
                    InjectedFault(
                        kind: "kill-host", atSeconds: killed.elapsed, atUnits: killed.totals.units,
                        plannedAtUnits: start?.killAtUnits ?? 0,
                        detail:
                            "host \(name): its driver and \(NumberText.count(workers, "worker")) killed with SIGKILL"))
            }
        }
        let planned = start?.victims.count ?? 0
        merged.faultsNotInjected += planned - merged.faults.filter { $0.kind == "kill-host" }.count
        return merged
    }

    /// The coordinator adds the hosts' rows, the lost hosts and the coordination figures to the report.
    func annotate(_ report: inout SimulationReport, own sale: Simulation.Sale, tally: WorkerTally) {
        let mine = self.report(sale)
        var rows = [SimulationReport.HostRow(mine, skus: control.configuration.skus)]
        var reports = [mine]
        for name in start?.hosts.dropFirst() ?? [] {
            guard let peer = peers[name] else { continue }
            if let hostReport = peer.report {
                var row = SimulationReport.HostRow(hostReport, skus: control.configuration.skus)
                row.streamEntries += 1
                row.streamBytes += peer.reportBytes
                rows.append(row)
                reports.append(hostReport)
            } else {
                rows.append(SimulationReport.HostRow(lost: peer.registration, last: peer.killed ?? peer.progress))
            }
        }
        report.hosts = rows
        report.workers = tally.workers
        report.latencyCounts = HistogramCounts(tally.latency).pairs
        let lost = rows.filter(\.lost).map(\.name)
        if !lost.isEmpty {
            report.lostHosts = lost
            report.audit.notes.append(
                "declared lost (no report, heartbeat expired): \(lost.joined(separator: ", ")); the workers of a lost host count as dead ones, and the audit judged what Redis holds"
            )
        }
        if !undecodable.isEmpty { report.audit.notes.append(contentsOf: undecodable) }
        let lastRegistration = max(
            registration?.registeredAtMicroseconds ?? 0,
            peers.values.map(\.registration.registeredAtMicroseconds).max() ?? 0)
        let firstSale = reports.map(\.firstSaleAtMicroseconds).filter { $0 > 0 }.min()
        let seconds = reports.map(\.elapsedSeconds).reduce(0, +)
        let reported = rows.filter { !$0.lost }
        report.coordination = SimulationReport.Coordination(
            hosts: rows.count, startMarginMs: plan.startMarginMilliseconds,
            lastRegistrationToStartMs: Double((start?.atMicroseconds ?? 0) - lastRegistration) / 1_000,
            lastRegistrationToFirstSaleMs: firstSale.map { Double($0 - lastRegistration) / 1_000 },
            streamBytesPerHostPerSecond: seconds > 0 ? Double(reported.map(\.streamBytes).reduce(0, +)) / seconds : 0,
            streamEntriesPerHostPerSecond: seconds > 0
                ? Double(reported.map(\.streamEntries).reduce(0, +)) / seconds : 0)
    }

    /// The run's control keys expire a while after the run; this host's heartbeat goes now.
    func close() {
        var commands = [RedisCommand("DEL", RedisArgument(keys.alive(plan.name)))]
        if isCoordinator {
            commands += [keys.control, keys.hosts, keys.stream].map {
                RedisCommand("EXPIRE", RedisArgument($0), RedisArgument(RunControlKeys.retentionSeconds))
            }
        }
        _ = try? connection.pipeline(commands)
        connection.close()
    }

    private func send(_ commands: [RedisCommand]) throws(SimulationError) {
        do {
            if let refusal = try connection.pipeline(commands).lazy.compactMap(\.errorReply).first {
                throw SimulationError(.badServerState, "Redis refused the run's control keys: \(refusal)")
            }
        } catch let error as SimulationError {
            throw error
        } catch {
            throw SimulationError(.redisUnavailable, "\(error)")
        }
    }

    /// The version in registrations (the command's `--version`).
    static let version = "0.1.0"
}
