import EmbeddedRedis
import Hiredis

#if canImport(Glibc)
import Glibc
#endif

/// The faults `--chaos` injects: `kill-worker:N,client-kill:N,restart-redis:N,pause-redis:MS`.
public struct ChaosPlan: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Workers killed with SIGKILL.
    public var killWorker = 0
    /// Worker connections killed with `CLIENT KILL ID`.
    public var clientKill = 0
    /// Restarts of the embedded redis-server (which then runs with `appendonly yes`, `appendfsync always`).
    public var restartRedis = 0
    /// One `CLIENT PAUSE` of this many milliseconds.
    public var pauseRedisMilliseconds = 0
    /// A Redis Cluster: slots of busy groups moved to another master mid-run (IMPORTING, MIGRATING, MIGRATE, NODE).
    public var migrateSlot = 0
    /// A Redis Cluster with replicas: `CLUSTER FAILOVER` on a replica of a busy group's master.
    public var failover = 0
    /// A Redis Cluster: masters of busy groups killed (SIGKILL; `SHUTDOWN NOSAVE` on a cluster given by URL).
    public var killMaster = 0
    /// A run of several hosts: hosts (never the coordinator) whose driver and workers are killed with SIGKILL.
    public var killHost = 0

    public init() {}

    /// Parses `kill-worker:2,client-kill:3,restart-redis:1,pause-redis:1500`.
    ///
    /// - Throws: `ConfigurationError` naming the part that is wrong.
    public init(parsing text: String) throws(ConfigurationError) {
        for item in text.split(separator: ",") {
            let parts = item.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let count = Int(parts[1]), count >= 0 else {
                throw ConfigurationError(
                    "chaos item '\(item)' should be NAME:NUMBER, as in kill-worker:2,client-kill:3,restart-redis:1,pause-redis:1500"
                )
            }
            switch parts[0] {
            case "kill-worker": killWorker = count
            case "client-kill": clientKill = count
            case "restart-redis": restartRedis = count
            case "pause-redis": pauseRedisMilliseconds = count
            case "migrate-slot": migrateSlot = count
            case "failover": failover = count
            case "kill-master": killMaster = count
            case "kill-host": killHost = count
            default:
                throw ConfigurationError(
                    "unknown chaos fault '\(parts[0])'; use kill-worker, client-kill, restart-redis or pause-redis (on a Redis Cluster also migrate-slot, failover, kill-master; with --hosts kill-host)"
                )
            }
        }
    }

    public var isEmpty: Bool {
        killWorker == 0 && clientKill == 0 && restartRedis == 0 && pauseRedisMilliseconds == 0 && clusterFaults == 0
            && killHost == 0
    }

    /// Faults only a Redis Cluster can take: `migrate-slot`, `failover`, `kill-master`.
    public var clusterFaults: Int { migrateSlot + failover + killMaster }

    public var description: String {
        var items: [String] = []
        if killWorker > 0 { items.append("kill-worker:\(killWorker)") }
        if clientKill > 0 { items.append("client-kill:\(clientKill)") }
        if restartRedis > 0 { items.append("restart-redis:\(restartRedis)") }
        if pauseRedisMilliseconds > 0 { items.append("pause-redis:\(pauseRedisMilliseconds)") }
        if migrateSlot > 0 { items.append("migrate-slot:\(migrateSlot)") }
        if failover > 0 { items.append("failover:\(failover)") }
        if killMaster > 0 { items.append("kill-master:\(killMaster)") }
        if killHost > 0 { items.append("kill-host:\(killHost)") }
        return items.isEmpty ? "none" : items.joined(separator: ",")
    }
}
