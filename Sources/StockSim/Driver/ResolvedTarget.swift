import EmbeddedRedis
import Hiredis
import Logging

/// A `RedisTarget` made real, for a run or a sweep: the embedded server started, the URL the workers get, its
/// endpoint. `stop()` stops a server it started.
struct ResolvedTarget {
    private(set) var url: String
    let endpoint: RedisEndpoint
    /// The embedded server, when StockSim started it.
    let server: RedisServer?
    /// The embedded cluster, when StockSim started one.
    let clusterServer: RedisClusterServer?
    /// The cluster's seeds and credentials when the run is on a Redis Cluster (`redis+cluster://`, an embedded
    /// cluster, or a `redis://` URL that reached a cluster-mode node); `nil` on a single node.
    let cluster: RedisClusterEndpoint?
    /// A note for the log and the summary, such as a `redis://` URL that reached a cluster node.
    let note: String?
    /// The cluster the cluster faults act on, set by ``check(_:)`` when the plan has some: the embedded one, or the
    /// one given by URL, attached.
    private(set) var chaosCluster: RedisClusterServer?

    /// Starts the embedded server, or checks the URL.
    ///
    /// - Parameters:
    ///   - target: where Redis is.
    ///   - restartsServer: the run will restart the server (`--chaos restart-redis`): an embedded one then writes
    ///     every write to disk before its reply, and a server given by URL is refused.
    ///   - logger: where the start is logged.
    /// - Throws: `SimulationError` when the server cannot start or the URL is wrong.
    init(_ target: RedisTarget, restartsServer: Bool = false, logger: Logger) throws(SimulationError) {
        switch target {
        case .embedded(var configuration):
            // A restart must not lose the stock: every write is on disk before its reply.
            if restartsServer { configuration.persistence = .appendOnlyAlways }
            do {
                let started = try RedisServer(configuration)
                server = started
                clusterServer = nil
                url = started.url
                logger.info("started redis-server", metadata: ["address": "\(started.endpoint.addressDescription)"])
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
        case .url(let given):
            if restartsServer {
                throw SimulationError(
                    .invalidConfiguration,
                    "--chaos restart-redis works only on the embedded server, which StockSim owns; drop --redis or the restart-redis item"
                )
            }
            url = given
            server = nil
            clusterServer = nil
        case .embeddedCluster(var configuration):
            if restartsServer {
                throw SimulationError(
                    .invalidConfiguration,
                    "--chaos restart-redis works on the single embedded server; on a cluster use migrate-slot, failover or kill-master"
                )
            }
            configuration.readyTimeout = max(configuration.readyTimeout, .seconds(30))
            // A lost master stops the sale (writes meet CLUSTERDOWN) but leaves every other group readable, for the
            // audit of what is still reachable.
            configuration.node.extraConfiguration.append("cluster-allow-reads-when-down yes")
            do {
                let started = try RedisClusterServer(configuration)
                clusterServer = started
                server = nil
                url = started.url
                logger.info(
                    "started a Redis Cluster",
                    metadata: [
                        "masters": "\(configuration.masters)", "replicas": "\(configuration.replicasPerMaster)",
                        "url": "\(started.endpoint)",
                    ])
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
        }
        do throws(RedisError) {
            if SaleRouter.isClusterURL(url) {
                let seeds = try RedisClusterEndpoint(url: url)
                guard let first = seeds.seeds.first else {
                    throw RedisError(.invalidEndpoint, "a Redis Cluster URL needs at least one host:port")
                }
                cluster = seeds
                endpoint = seeds.endpoint(first)
                note = nil
            } else {
                endpoint = try RedisEndpoint(url: url)
                (cluster, note) = Self.detectCluster(url: url, endpoint: endpoint)
            }
        } catch {
            server?.stop()
            clusterServer?.stop()
            throw SimulationError(.invalidConfiguration, error.message)
        }
        if cluster != nil, let note { logger.info("\(note)") }
        // Workers reach a detected cluster through its slot map, as they would through a redis+cluster:// URL.
        if let cluster, !SaleRouter.isClusterURL(url) { url = Self.clusterURL(url, cluster) }
    }

    /// Cluster faults need a Redis Cluster — the embedded one, or one given by URL, which is then attached (its
    /// nodes read with `CLUSTER NODES`) for ``chaosCluster`` — and `failover` needs replicas.
    ///
    /// - Throws: `SimulationError(.invalidConfiguration)` saying what to add or drop; `.redisUnavailable` when the
    ///   cluster given by URL cannot be attached.
    mutating func check(_ chaos: ChaosPlan) throws(SimulationError) {
        guard chaos.clusterFaults > 0 else { return }
        if let clusterServer {
            chaosCluster = clusterServer
        } else if let cluster {
            do {
                chaosCluster = try RedisClusterServer(attachingTo: cluster)
            } catch {
                throw SimulationError(.redisUnavailable, error.message)
            }
        } else {
            throw SimulationError(
                .invalidConfiguration,
                "--chaos migrate-slot, failover and kill-master need a Redis Cluster: start one with --cluster-masters N (and --cluster-replicas R for failover), or give one with --redis redis+cluster://host:port"
            )
        }
        if chaos.failover > 0, let chaosCluster, chaosCluster.configuration.replicasPerMaster == 0 {
            throw SimulationError(
                .invalidConfiguration,
                clusterServer == nil
                    ? "--chaos failover promotes a replica, but a master of the cluster at \(cluster?.description ?? url) has none; give every master a replica"
                    : "--chaos failover promotes a replica; add --cluster-replicas 1")
        }
    }

    /// True when the run is on a Redis Cluster.
    var isCluster: Bool { cluster != nil }

    /// A `redis://` URL that reaches a node with `cluster_enabled:1` (`INFO cluster`) is run as a cluster, seeded by
    /// that node; a one-node cluster that owns every slot too (a cluster of one slot owner).
    private static func detectCluster(url: String, endpoint: RedisEndpoint) -> (RedisClusterEndpoint?, String?) {
        guard case .tcp(let host, let port) = endpoint.address,
            let connection = try? RedisConnection(
                endpoint: endpoint, options: RedisConnection.Options(connectTimeout: .seconds(2))),
            let info = try? connection.send("INFO", "cluster").string,
            info.split(whereSeparator: \.isNewline).contains("cluster_enabled:1")
        else { return (nil, nil) }
        let seeds = RedisClusterEndpoint(
            seeds: [ClusterAddress(host: host, port: port)], user: endpoint.user, password: endpoint.password)
        return (
            seeds,
            "the server at \(host):\(port) runs in Redis Cluster mode (INFO cluster: cluster_enabled:1): running on the cluster"
        )
    }

    /// The `redis+cluster://` form of a `redis://` URL: the same credentials and host, database 0.
    private static func clusterURL(_ url: String, _ cluster: RedisClusterEndpoint) -> String {
        var rest = Substring(url.dropFirst("redis://".count))
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        return "redis+cluster://" + rest
    }

    /// Connects the driver.
    ///
    /// - Throws: `SimulationError(.redisUnavailable)` when Redis cannot be reached or refuses the login.
    func connect(options: RedisConnection.Options) throws(SimulationError) -> RedisConnection {
        do {
            return try RedisConnection(endpoint: endpoint, options: options)
        } catch {
            throw SimulationError(.redisUnavailable, error.message)
        }
    }

    /// Stops the embedded server or cluster, if there is one.
    func stop() {
        server?.stop()
        clusterServer?.stop()
    }
}
