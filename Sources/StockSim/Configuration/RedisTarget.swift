public import EmbeddedRedis

/// Where the simulation's Redis is.
public enum RedisTarget: Sendable {
    /// A private `redis-server` that the simulation starts on a free loopback port and stops at the end.
    case embedded(RedisServer.Configuration)
    /// A running server, given by URL. Only the run's stock keys and their ledgers and run hashes are touched.
    case url(String)

    /// An embedded server with the default configuration.
    public static let embedded = RedisTarget.embedded(RedisServer.Configuration())
}
