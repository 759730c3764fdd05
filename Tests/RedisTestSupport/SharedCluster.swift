public import EmbeddedRedis
public import Testing

/// One private Redis Cluster for a whole `.serialized` suite: started before the suite's first test, stopped (every
/// node, every temp dir) after its last, failed or not. Tests read it from ``SharedCluster/current``.
public struct SharedCluster: SuiteTrait, TestScoping {
    public let configuration: RedisClusterServer.Configuration

    @TaskLocal public static var current: RedisClusterServer?

    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let cluster = try RedisClusterServer(configuration)
        defer { cluster.stop() }
        try await Self.$current.withValue(cluster) { try await function() }
    }

    /// The suite's cluster.
    public static func cluster() throws -> RedisClusterServer {
        try #require(current, "the suite has the .sharedCluster trait")
    }
}

extension Trait where Self == SharedCluster {
    /// Starts one cluster for the suite; see ``SharedCluster``.
    public static func sharedCluster(masters: Int = 3, replicasPerMaster: Int = 0) -> SharedCluster {
        SharedCluster(configuration: .init(masters: masters, replicasPerMaster: replicasPerMaster))
    }
}
