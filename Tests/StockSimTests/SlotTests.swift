import EmbeddedRedis
import Foundation
import Hiredis
import StockSim
import Testing

/// Every command of a sale, of its preparation and of the audit's read-back names the keys of one group: one hash
/// slot. A one-node Redis Cluster serving every slot refuses any other command with CROSSSLOT, so a run against it
/// shows it.
@Suite("one hash slot per command", .serialized)
struct SlotTests {
    /// A redis-server in cluster mode that owns all 16384 slots.
    static func oneNodeCluster() throws -> RedisServer {
        let configuration = RedisServer.Configuration(
            extraConfiguration: ["cluster-enabled yes", "cluster-config-file nodes.conf"])
        // Cluster mode refuses a port above 55535 (its bus listens 10000 higher): a free port drawn that high, or a
        // bus port in use, is tried again on another.
        let server = try startRetrying(configuration, attempts: 10)
        let connection = try RedisConnection(endpoint: server.endpoint)
        try connection.send("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        let deadline = ContinuousClock.now + .seconds(10)
        while try connection.send("CLUSTER", "INFO").string?.contains("cluster_state:ok") != true {
            guard ContinuousClock.now < deadline else { throw ClusterNotReady() }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return server
    }

    struct ClusterNotReady: Error {}

    static func startRetrying(_ configuration: RedisServer.Configuration, attempts: Int) throws -> RedisServer {
        for _ in 1..<attempts {
            if let server = try? RedisServer(configuration) { return server }
        }
        return try RedisServer(configuration)
    }

    @Test func theClusterRefusesACrossSlotCommand() throws {
        let server = try Self.oneNodeCluster()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let reply = try connection.request(RedisCommand("MGET", "{k:g0}:sku:0", "{k:g1}:sku:1"))
        #expect(reply.errorReply?.code == "CROSSSLOT")
    }

    @Test(arguments: [Strategy.watch, .lua, .decr])
    func aCatalogRunSendsNoCrossSlotCommand(strategy: Strategy) throws {
        let server = try Self.oneNodeCluster()
        defer { server.stop() }
        let result = try StocksimCLI.run(
            [
                "run", "--stock", "60", "--skus", "6", "--groups", "3", "--cart-size", "2", "--workers", "3",
                "--strategy", strategy.rawValue, "--json", "--quiet",
            ], environment: ["STOCKSIM_REDIS_URL": server.url])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations) \(report.audit.notes)")
        #expect(report.completed, "\(report.incompleteReason ?? "")")
        #expect(report.skus?.count == 6)
    }

    @Test func aSingleKeyRunSendsNoCrossSlotCommand() throws {
        let server = try Self.oneNodeCluster()
        defer { server.stop() }
        let result = try StocksimCLI.run(
            ["run", "--stock", "200", "--workers", "2", "--strategy", "lua", "--json", "--quiet"],
            environment: ["STOCKSIM_REDIS_URL": server.url])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.sold == 200)
        #expect(report.ledgerKey == "{stock:count}:ledger")
        let connection = try RedisConnection(endpoint: server.endpoint)
        #expect(try connection.send("HLEN", "{stock:count}:ledger").int == 200)
    }
}
