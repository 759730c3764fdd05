public import EmbeddedRedis

/// Where the simulation's Redis is.
public enum RedisTarget: Sendable {
    /// A private `redis-server` that the simulation starts on a free loopback port and stops at the end.
    case embedded(RedisServer.Configuration)
    /// A running server, given by URL. Only the run's stock keys and their ledgers and run hashes are touched.
    case url(String)
    /// A private Redis Cluster (`--cluster-masters N`, `--cluster-replicas R`) that the simulation starts on free
    /// loopback ports and stops at the end.
    case embeddedCluster(RedisClusterServer.Configuration)

    /// An embedded cluster of `masters` masters with `replicas` replicas each.
    ///
    /// - Parameters:
    ///   - masters: at least 1.
    ///   - replicas: replicas per master.
    public static func embeddedCluster(masters: Int, replicas: Int = 0) -> RedisTarget {
        .embeddedCluster(RedisClusterServer.Configuration(masters: masters, replicasPerMaster: replicas))
    }

    /// This embedded cluster with `masters` masters instead (its other settings kept); `nil` for another target.
    func embeddedCluster(masters: Int) -> RedisTarget? {
        guard case .embeddedCluster(var configuration) = self else { return nil }
        configuration.masters = masters
        return .embeddedCluster(configuration)
    }

    /// An embedded server with the default configuration.
    public static let embedded = RedisTarget.embedded(RedisServer.Configuration())
}
