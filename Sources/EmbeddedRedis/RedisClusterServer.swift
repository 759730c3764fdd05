import Foundation
public import Hiredis

#if canImport(Glibc)
import Glibc
#endif

/// A private Redis Cluster: N masters and R replicas of each, every node a ``RedisServer`` on a free loopback port
/// (its bus port, port + 10000, free too) with a temp dir and a watchdog of its own, so nothing outlives the owner —
/// not ``stop()``, not a failed start, not a SIGKILL of the owning process.
///
/// Starting it does what `redis-cli --cluster create` does: distinct config epochs, the 16384 slots dealt evenly to
/// the masters (`CLUSTER ADDSLOTSRANGE`), `CLUSTER MEET`, `CLUSTER REPLICATE`; then it waits (bounded) until every
/// node says `cluster_state:ok`, every node answers the same `CLUSTER SLOTS` and every replica's link is up.
///
/// The chaos operations — moving a slot (also stopping halfway, to test `ASK`), a failover, killing a master — talk
/// to the nodes over `Hiredis` connections. They work as well on a cluster someone else started, attached with
/// ``init(attachingTo:)``: its nodes are found with `CLUSTER NODES`, ``stop()`` leaves them running, and a node is
/// killed with `SHUTDOWN NOSAVE`, as it cannot be sent a signal. Only chaos asked for by the caller touches a cluster
/// it did not start.
public final class RedisClusterServer: Sendable {
    public struct Configuration: Sendable {
        /// Masters; the slots are dealt evenly among them. At least 1.
        public var masters: Int
        /// Replicas of each master.
        public var replicasPerMaster: Int
        /// How every node is started: its `requirepass` (also its `masterauth`), persistence, further `redis.conf`
        /// lines, start timeout. Its ``RedisServer/Configuration/cluster`` options (`cluster-node-timeout`: a failed
        /// master is replaced after about this long) are ``RedisServer/ClusterNodeOptions/init(nodeTimeout:)``'s when
        /// `nil`.
        public var node: RedisServer.Configuration
        /// Time allowed for the cluster to become healthy after its nodes started.
        public var readyTimeout: Duration

        public init(
            masters: Int = 3, replicasPerMaster: Int = 0, node: RedisServer.Configuration = RedisServer.Configuration(),
            readyTimeout: Duration = .seconds(30)
        ) {
            self.masters = masters
            self.replicasPerMaster = replicasPerMaster
            self.node = node
            self.readyTimeout = readyTimeout
        }
    }

    /// One node: its cluster node id, its address and, when this cluster started it, its server process. Which
    /// nodes are masters changes with failovers: ask ``slotMap()``.
    public struct Node: Sendable, CustomStringConvertible {
        /// The node's process; `nil` on an attached cluster.
        public let server: RedisServer?
        /// The 40-character node id (`CLUSTER MYID`).
        public let id: String
        public let address: ClusterAddress
        /// The endpoint of this node alone, with the cluster's credentials.
        public let endpoint: RedisEndpoint

        public var port: Int { address.port }
        /// True until the node was killed or stopped. A node of an attached cluster is asked (`PING`, within a
        /// second), as there is no process to look at.
        public var isRunning: Bool {
            if let server { return server.pid != nil }
            let options = RedisConnection.Options(connectTimeout: .seconds(1), commandTimeout: .seconds(1))
            return (try? RedisConnection(endpoint: endpoint, options: options).send("PING")) != nil
        }

        public var description: String { "\(address) (\(id.prefix(8)))" }
    }

    /// A chaos operation or a wait that did not succeed; the message says what the cluster looked like.
    public struct OperationError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    public let configuration: Configuration
    /// Every node, masters first (in slot order, as started), then the replicas of the first master, of the second…
    /// (on an attached cluster: in `CLUSTER NODES` order).
    public let nodes: [Node]
    /// The ACL user of every node of an attached cluster; `nil` logs in as `default`.
    private let user: String?

    /// A cluster someone else started, for the chaos operations: its nodes as the first seed that answers
    /// `CLUSTER NODES` lists them (failed and address-less nodes left out), its credentials those of `endpoint`.
    /// ``Configuration/masters`` and ``Configuration/replicasPerMaster`` say what it had when attached (the fewest
    /// replicas any master had).
    ///
    /// - Parameter endpoint: the cluster's seeds and credentials.
    /// - Throws: `OperationError` naming every seed and why it did not answer.
    public init(attachingTo endpoint: RedisClusterEndpoint) throws(OperationError) {
        var failures: [String] = []
        for seed in endpoint.seeds {
            do throws(RedisError) {
                let text = try RedisConnection(endpoint: endpoint.endpoint(seed)).send("CLUSTER", "NODES").string ?? ""
                var nodes: [Node] = []
                var replicas: [String: Int] = [:]
                for line in text.split(whereSeparator: \.isNewline) {
                    let fields = line.split(separator: " ").map(String.init)
                    guard fields.count >= 8, !fields[2].contains("fail"), !fields[2].contains("noaddr"),
                        !fields[2].contains("handshake")
                    else { continue }
                    let hostPort = fields[1].prefix { $0 != "@" }
                    guard let colon = hostPort.lastIndex(of: ":"),
                        let port = Int(hostPort[hostPort.index(after: colon)...])
                    else { continue }
                    let host = hostPort[..<colon].isEmpty ? seed.host : String(hostPort[..<colon])
                    let address = ClusterAddress(host: host, port: port)
                    nodes.append(
                        Node(server: nil, id: fields[0], address: address, endpoint: endpoint.endpoint(address)))
                    if fields[2].contains("master") {
                        replicas[fields[0], default: 0] += 0
                    } else if fields[3] != "-" {
                        replicas[fields[3], default: 0] += 1
                    }
                }
                guard !nodes.isEmpty else {
                    failures.append("\(seed): CLUSTER NODES listed no usable node")
                    continue
                }
                self.nodes = nodes
                self.user = endpoint.user
                self.configuration = Configuration(
                    masters: replicas.count, replicasPerMaster: replicas.values.min() ?? 0,
                    node: RedisServer.Configuration(password: endpoint.password))
                return
            } catch {
                failures.append("\(seed): \(error.message)")
            }
        }
        throw OperationError(
            message:
                "cannot attach to the Redis Cluster: no seed answered CLUSTER NODES (\(failures.joined(separator: "; ")))"
        )
    }

    /// Starts the nodes, forms the cluster and waits until it is healthy.
    ///
    /// - Parameter configuration: how many nodes, and how they are configured.
    /// - Throws: `RedisServer.StartError` when a node does not start or the cluster does not become healthy within
    ///   ``Configuration/readyTimeout`` (every node started so far is stopped and its dir removed).
    public init(_ configuration: Configuration = Configuration()) throws(RedisServer.StartError) {
        self.configuration = configuration
        self.user = nil
        let total = max(1, configuration.masters) * (1 + max(0, configuration.replicasPerMaster))
        var serverConfiguration = configuration.node
        if let password = serverConfiguration.password {
            serverConfiguration.extraConfiguration.append("masterauth \(password)")
        }
        serverConfiguration.cluster = serverConfiguration.cluster ?? RedisServer.ClusterNodeOptions()
        var servers: [RedisServer] = []
        do throws(RedisServer.StartError) {
            for _ in 0..<total { servers.append(try RedisServer(serverConfiguration)) }
            var nodes: [Node] = []
            for server in servers {
                guard let port = server.port,
                    let id = try? RedisConnection(endpoint: server.endpoint).send("CLUSTER", "MYID").string
                else {
                    throw RedisServer.StartError(
                        message:
                            "redis-server on \(server.endpoint.addressDescription) did not tell its cluster node id; is it built with cluster support?",
                        notInstalled: false)
                }
                nodes.append(
                    Node(
                        server: server, id: id, address: ClusterAddress(host: "127.0.0.1", port: port),
                        endpoint: server.endpoint))
            }
            self.nodes = nodes
        } catch {
            for server in servers { server.stop() }
            throw error
        }
        do {
            try form()
        } catch {
            stop()
            throw RedisServer.StartError(message: "the Redis Cluster did not form: \(error)", notInstalled: false)
        }
    }

    deinit {
        stop()
    }

    /// Stops every node it started and removes every temp dir (an attached cluster is left as it is). Safe to call
    /// more than once.
    public func stop() {
        for node in nodes { node.server?.stop() }
    }

    /// The seeds (every node) and the credentials, for ``RedisClusterClient``.
    public var endpoint: RedisClusterEndpoint {
        RedisClusterEndpoint(seeds: nodes.map(\.address), user: user, password: configuration.node.password)
    }

    /// The `AUTH` part of a `MIGRATE` between two nodes, with the cluster's credentials; empty without a password.
    var migrateCredentials: [RedisArgument] {
        guard let password = configuration.node.password else { return [] }
        if let user { return ["AUTH2", RedisArgument(user), RedisArgument(password)] }
        return ["AUTH", RedisArgument(password)]
    }

    /// The cluster as a `redis+cluster://` URL with every node as a seed.
    public var url: String {
        let auth =
            configuration.node.password.map {
                ":\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)@"
            }
            ?? ""
        return "redis+cluster://\(auth)" + nodes.map(\.address.description).joined(separator: ",")
    }

    /// The slot map as the first running node answers it.
    ///
    /// - Throws: `RedisError` when no running node answers.
    public func slotMap() throws(RedisError) -> ClusterSlotMap {
        var lastError = RedisError(.cannotConnect, "no node of the cluster is running")
        for node in nodes where node.isRunning {
            do {
                return try ClusterSlotMap(clusterSlots: connection(node).send("CLUSTER", "SLOTS"), from: node.address)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// The node that serves `slot` now.
    ///
    /// - Parameter slot: the slot.
    /// - Throws: `OperationError` when no node serves it, `RedisError` when no node answers.
    public func master(of slot: HashSlot) throws -> Node {
        let map = try slotMap()
        guard let master = map.master(for: slot), let node = node(at: master.address) else {
            throw OperationError(message: "no master serves slot \(slot); the slot map is:\n\(map)")
        }
        return node
    }

    /// The masters that serve slots now, in slot order.
    ///
    /// - Throws: `RedisError` when no node answers.
    public func masters() throws -> [Node] {
        try slotMap().masters.compactMap { node(at: $0.address) }
    }

    /// The running replicas of `master` now.
    ///
    /// - Throws: `RedisError` when no node answers.
    public func replicas(of master: Node) throws -> [Node] {
        try slotMap().ranges.first { $0.master.address == master.address }?.replicas.compactMap { node(at: $0.address) }
            ?? []
    }

    /// The node at `address`, if it is one of this cluster's.
    public func node(at address: ClusterAddress) -> Node? {
        nodes.first { $0.address == address || ($0.port == address.port && address.host == "localhost") }
    }

    /// A new connection to one node (logged in with the cluster's password), for tests that talk to a node directly.
    ///
    /// - Throws: `RedisError` `.cannotConnect`.
    public func connection(_ node: Node) throws(RedisError) -> RedisConnection {
        try RedisConnection(
            endpoint: node.endpoint, options: .init(connectTimeout: .seconds(2), commandTimeout: .seconds(10)))
    }

    // MARK: Chaos

    /// Starts moving `slot` from its master to `target` as Redis documents it: `CLUSTER SETSLOT slot IMPORTING` on
    /// the target, then `MIGRATING` on the source. The keys stay where they are until the migration moves them.
    ///
    /// - Parameters:
    ///   - slot: the slot.
    ///   - target: the master that will serve it.
    /// - Returns: the migration, to move keys in batches and finish.
    /// - Throws: `OperationError` when `target` already serves the slot; `RedisError` for a refused command.
    public func beginMigration(of slot: HashSlot, to target: Node) throws -> SlotMigration {
        let source = try master(of: slot)
        guard source.id != target.id else {
            throw OperationError(message: "\(target) serves slot \(slot) already; migrate it to another master")
        }
        try connection(target).send(
            "CLUSTER", "SETSLOT", RedisArgument(slot.rawValue), "IMPORTING", RedisArgument(source.id))
        try connection(source).send(
            "CLUSTER", "SETSLOT", RedisArgument(slot.rawValue), "MIGRATING", RedisArgument(target.id))
        return SlotMigration(cluster: self, slot: slot, source: source, target: target)
    }

    /// Moves `slot` with all its keys to `target` and waits until every node agrees.
    ///
    /// - Throws: as ``beginMigration(of:to:)`` and ``SlotMigration/finish()``.
    public func migrate(_ slot: HashSlot, to target: Node) throws {
        try beginMigration(of: slot, to: target).finish()
    }

    /// A manual failover: `CLUSTER FAILOVER` on `replica`, then waits until it is a master and the cluster is
    /// healthy again (its old master now its replica).
    ///
    /// - Parameters:
    ///   - replica: a running replica.
    ///   - timeout: the time allowed.
    /// - Throws: `RedisError` when the replica refuses; `OperationError` when the cluster is not healthy in time.
    public func failover(to replica: Node, timeout: Duration = .seconds(20)) throws {
        let deadline = ContinuousClock.now + timeout
        try connection(replica).send("CLUSTER", "FAILOVER")
        try waitUntil(deadline, "\(replica) to become a master") { () throws(RedisError) in
            try connection(replica).send("ROLE").array?.first?.string == "master" ? nil : "it is still a replica"
        }
        try waitUntilHealthy(timeout: max(.seconds(1), deadline - ContinuousClock.now))
    }

    /// Kills a node with SIGKILL (its files stay until ``stop()``); a node of an attached cluster, which has no
    /// process here, with `SHUTDOWN NOSAVE`. A master with a replica is replaced by it after about the cluster's
    /// node timeout; wait for that with ``waitUntilHealthy(timeout:)``.
    ///
    /// - Parameter node: the node.
    /// - Returns: how it was killed, for a report.
    @discardableResult
    public func kill(_ node: Node) -> String {
        if let server = node.server {
            server.kill(signal: SIGKILL)
            return "killed with SIGKILL"
        }
        // The node closes the connection instead of answering: that is the shutdown, not a failure.
        _ = try? connection(node).send("SHUTDOWN", "NOSAVE")
        return "stopped with SHUTDOWN NOSAVE"
    }

    /// Waits until every running node says `cluster_state:ok` (`CLUSTER INFO`), all answer the same `CLUSTER SLOTS` covering every
    /// slot, every running node is in it, and every replica's link to its master is up.
    ///
    /// - Parameter timeout: the time allowed.
    /// - Throws: `OperationError` naming what was still wrong at the deadline.
    public func waitUntilHealthy(timeout: Duration = .seconds(20)) throws {
        try waitUntil(ContinuousClock.now + timeout, "the cluster to be healthy") { () throws(RedisError) in
            try unhealthiness()
        }
    }

    /// Why the cluster is not healthy, or `nil` when it is.
    private func unhealthiness() throws(RedisError) -> String? {
        let running = nodes.filter(\.isRunning)
        var agreed: [String]?
        var map = ClusterSlotMap(ranges: [])
        for node in running {
            let connection = try connection(node)
            let info = try connection.send("CLUSTER", "INFO").string ?? ""
            guard info.contains("cluster_state:ok") else { return "\(node) says cluster_state is not ok" }
            map = try ClusterSlotMap(clusterSlots: connection.send("CLUSTER", "SLOTS"), from: node.address)
            let shape = map.ranges.map { "\($0.slots) \($0.master.port) \($0.replicas.map(\.port).sorted())" }
            if let agreed, agreed != shape { return "\(node) answers CLUSTER SLOTS differently:\n\(map)" }
            agreed = shape
        }
        guard map.coversAllSlots else { return "not every slot is served:\n\(map)" }
        let listed = Set(map.ranges.flatMap { [$0.master.port] + $0.replicas.map(\.port) })
        if let missing = running.first(where: { !listed.contains($0.port) }) {
            return "\(missing) is not in the slot map yet:\n\(map)"
        }
        for range in map.ranges {
            for replica in range.replicas {
                guard let node = node(at: replica.address) else { continue }
                let info = try connection(node).send("INFO", "replication").string ?? ""
                guard info.contains("master_link_status:up") else { return "\(node)'s link to its master is not up" }
            }
        }
        return nil
    }

    /// Polls `problem` every 50 ms until it says nothing is wrong, or throws what it said last at the deadline.
    func waitUntil(
        _ deadline: ContinuousClock.Instant, _ what: String, _ problem: () throws(RedisError) -> String?
    ) throws(OperationError) {
        var last = "nothing was checked"
        while true {
            do {
                guard let found = try problem() else { return }
                last = found
            } catch {
                last = error.message
            }
            guard ContinuousClock.now < deadline else {
                throw OperationError(message: "timed out waiting for \(what): \(last)")
            }
            usleep(50_000)
        }
    }

    // MARK: Forming

    private func form() throws {
        let masterCount = max(1, configuration.masters)
        let masters = Array(nodes.prefix(masterCount))
        let deadline = ContinuousClock.now + configuration.readyTimeout
        // Distinct epochs, as redis-cli does, so no two nodes start with a collision to resolve.
        for (index, node) in nodes.enumerated() {
            try connection(node).send("CLUSTER", "SET-CONFIG-EPOCH", RedisArgument(index + 1))
        }
        for (index, master) in masters.enumerated() {
            let first = index * HashSlot.count / masterCount
            let last = (index + 1) * HashSlot.count / masterCount - 1
            try connection(master).send("CLUSTER", "ADDSLOTSRANGE", RedisArgument(first), RedisArgument(last))
        }
        if let first = nodes.first {
            let meeting = try connection(first)
            for node in nodes.dropFirst() {
                try meeting.send("CLUSTER", "MEET", "127.0.0.1", RedisArgument(node.port))
            }
        }
        try waitUntil(deadline, "every node to know every other") { () throws(RedisError) in
            for node in nodes {
                let lines = (try connection(node).send("CLUSTER", "NODES").string ?? "").split(separator: "\n")
                if lines.count != nodes.count
                    || lines.contains(where: { $0.contains("handshake") || $0.contains("noaddr") })
                {
                    return "\(node) knows \(lines.count) of \(nodes.count) nodes"
                }
            }
            return nil
        }
        for (index, replica) in nodes.dropFirst(masterCount).enumerated() {
            let master = masters[index / max(1, configuration.replicasPerMaster)]
            try connection(replica).send("CLUSTER", "REPLICATE", RedisArgument(master.id))
        }
        try waitUntilHealthy(timeout: max(.seconds(1), deadline - ContinuousClock.now))
    }
}
