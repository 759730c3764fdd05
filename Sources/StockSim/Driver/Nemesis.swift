import EmbeddedRedis
import Hiredis

#if canImport(Glibc)
import Glibc
#endif

/// The nemesis: injects the plan's faults when sales cross thresholds drawn from the run's seed, so a run with the
/// same seed injects the same faults at the same points of progress.
final class Nemesis {
    private var schedule: [(threshold: Int, kind: String)]
    private let connection: RedisConnection?
    private let server: RedisServer?
    private let pauseMilliseconds: Int
    private let clientPrefix: String
    var random: SplitMix64
    private(set) var injected: [InjectedFault] = []
    /// Workers this nemesis has killed: the pool may still list one as live until its pipe closes, and a dead worker
    /// is never signalled again (its pid may even be reused).
    private var killed: Set<Int32> = []
    /// Planned kills that found no live worker left.
    private var skipped = 0
    /// The embedded cluster and the slots of the run's groups, for the cluster faults (see `Nemesis+Cluster.swift`).
    var cluster: (server: RedisClusterServer, slots: [HashSlot])?

    /// Faults whose point was never reached (the sale ended first), or that had no live worker to kill.
    var notInjected: Int { schedule.count + skipped }

    init(plan: ChaosPlan, seed: UInt64, demandUnits: Int, endpoint: RedisEndpoint, server: RedisServer?, runID: String)
    {
        random = SplitMix64(seed: seed ^ 0xC4A0_5C4A_05C4_A05C)
        var kinds: [String] = []
        kinds += Array(repeating: "kill-worker", count: plan.killWorker)
        kinds += Array(repeating: "client-kill", count: plan.clientKill)
        kinds += Array(repeating: "restart-redis", count: plan.restartRedis)
        if plan.pauseRedisMilliseconds > 0 { kinds.append("pause-redis") }
        kinds += Array(repeating: "migrate-slot", count: plan.migrateSlot)
        kinds += Array(repeating: "failover", count: plan.failover)
        kinds += Array(repeating: "kill-master", count: plan.killMaster)
        // Between 5% and 80% of the demand: late enough that sales are flowing, early enough to leave work after.
        let low = max(1, demandUnits / 20)
        let high = max(low + 1, demandUnits * 4 / 5)
        var drawn: [(Int, String)] = []
        for kind in kinds { drawn.append((Int.random(in: low..<high, using: &random), kind)) }
        schedule = drawn.sorted { $0.0 < $1.0 }.map { (threshold: $0.0, kind: $0.1) }
        pauseMilliseconds = plan.pauseRedisMilliseconds
        self.server = server
        clientPrefix = "stocksim-\(runID)-w"
        connection =
            plan.clientKill > 0 || plan.pauseRedisMilliseconds > 0
            ? try? RedisConnection(
                endpoint: endpoint,
                options: .init(connectTimeout: .seconds(1), commandTimeout: .seconds(2), reconnect: .onNextCommand))
            : nil
    }

    /// Injects every fault whose threshold the sales have crossed.
    func tick(_ progress: PoolProgress, liveWorkers: [Int32]) {
        while let next = schedule.first, progress.units >= next.threshold {
            schedule.removeFirst()
            guard let detail = inject(next.kind, liveWorkers: liveWorkers.filter { !killed.contains($0) }) else {
                skipped += 1
                continue
            }
            injected.append(
                InjectedFault(
                    kind: next.kind, atSeconds: progress.elapsed, atUnits: progress.units,
                    plannedAtUnits: next.threshold, detail: detail))
        }
    }

    /// Injects one fault and says what it did; `nil` for a kill with no live worker left.
    private func inject(_ kind: String, liveWorkers: [Int32]) -> String? {
        switch kind {
        case "kill-worker":
            guard let pid = liveWorkers.randomElement(using: &random) else { return nil }
            kill(pid, SIGKILL)
            killed.insert(pid)
            return "SIGKILL to worker pid \(pid)"
        case "client-kill":
            return killClient()
        case "restart-redis":
            guard let server else { return "skipped: not the embedded server" }
            do {
                try server.restart()
                return "redis-server restarted (appendonly, fsync always), pid \(server.pid.map(String.init) ?? "?")"
            } catch {
                return "restart failed: \(error.message)"
            }
        case "migrate-slot", "failover", "kill-master":
            return injectClusterFault(kind)
        default:
            do {
                try send(RedisCommand("CLIENT", "PAUSE", RedisArgument(pauseMilliseconds), "ALL"))
                return "CLIENT PAUSE \(pauseMilliseconds) ALL"
            } catch {
                return "CLIENT PAUSE failed: \(error.message)"
            }
        }
    }

    private func killClient() -> String {
        do {
            let list = try send(RedisCommand("CLIENT", "LIST", "TYPE", "normal")).string ?? ""
            let workers = list.split(separator: "\n").compactMap { line -> (id: Substring, name: Substring)? in
                let fields = line.split(separator: " ")
                guard let id = fields.first(where: { $0.hasPrefix("id=") })?.dropFirst(3),
                    let name = fields.first(where: { $0.hasPrefix("name=") })?.dropFirst(5),
                    name.hasPrefix(clientPrefix)
                else { return nil }
                return (id, name)
            }
            guard let victim = workers.randomElement(using: &random) else { return "no worker connection to kill" }
            try send(RedisCommand("CLIENT", "KILL", "ID", RedisArgument(String(victim.id))))
            return "CLIENT KILL ID \(victim.id) (\(victim.name))"
        } catch {
            return "CLIENT KILL failed: \(error.message)"
        }
    }

    /// Sends on the nemesis's own connection, trying once more after a failure (the server may have restarted).
    @discardableResult
    private func send(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        guard let connection else { throw RedisError(.misuse, "the nemesis has no connection") }
        do {
            return try connection.send(command)
        } catch  where error.closesConnection || error.code == .misuse {
            return try connection.send(command)
        }
    }
}
