import EmbeddedRedis
import Hiredis
import Logging

/// A `RedisTarget` made real, for a run or a sweep: the embedded server started, the URL the workers get, its
/// endpoint. `stop()` stops a server it started.
struct ResolvedTarget {
    let url: String
    let endpoint: RedisEndpoint
    /// The embedded server, when StockSim started it.
    let server: RedisServer?

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
        }
        do {
            endpoint = try RedisEndpoint(url: url)
        } catch {
            server?.stop()
            throw SimulationError(.invalidConfiguration, error.message)
        }
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

    /// Stops the embedded server, if there is one.
    func stop() { server?.stop() }
}
