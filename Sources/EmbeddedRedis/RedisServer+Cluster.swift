#if canImport(Glibc)
import Glibc
#endif

extension RedisServer {
    /// What makes a ``RedisServer`` a Redis Cluster node: `cluster-enabled yes`, its `nodes.conf` in its own temp
    /// dir, and a short node timeout so that tests see failovers within a few seconds.
    public struct ClusterNodeOptions: Sendable, Hashable {
        /// `cluster-node-timeout`: how long a node may be unreachable before the others count it as failing.
        public var nodeTimeout: Duration

        public init(nodeTimeout: Duration = .milliseconds(1000)) {
            self.nodeTimeout = nodeTimeout
        }

        var configurationLines: [String] {
            let milliseconds = max(
                100, nodeTimeout.components.seconds * 1000 + nodeTimeout.components.attoseconds / 1_000_000_000_000_000)
            return [
                "cluster-enabled yes",
                "cluster-config-file nodes.conf",
                "cluster-node-timeout \(milliseconds)",
                // A replica may take over however long its master was gone: tests kill masters on purpose.
                "cluster-replica-validity-factor 0",
                // Replicas stay where they were put, so tests know which master each one follows.
                "cluster-allow-replica-migration no",
                // A replica syncs at once, instead of the master waiting 5 s for more replicas to share the transfer.
                "repl-diskless-sync-delay 0",
                // CLUSTER SLOTS lists a replica only once its replication offset is not 0, and an idle master moves
                // the offset only with its replication PING, every 10 s by default.
                "repl-ping-replica-period 1",
            ]
        }
    }

    /// A loopback port that is free, and whose cluster bus port (port + 10000) is free too.
    ///
    /// Ports are drawn from 10000–22767, so that both stay below the range Linux hands out to outgoing connections
    /// (32768 and up) and a client's ephemeral port cannot take the bus port between this check and the server's bind.
    static func freeClusterPort() -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 10000...22767)
            if canBind(port), canBind(port + 10000) { return port }
        }
        return freeLoopbackPort()
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
