import EmbeddedRedis
import Foundation
import Hiredis
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("RedisClusterServer, the private Redis Cluster the tests start", .serialized)
struct RedisClusterServerTests {
    @Test(
        "starts, every node says cluster_state:ok and serves its share of the slots, and is fully gone after stop()",
        arguments: [(1, 0), (3, 0), (3, 1)])
    func startsHealthyAndStopsClean(masters: Int, replicas: Int) throws {
        let cluster = try RedisClusterServer(.init(masters: masters, replicasPerMaster: replicas))
        let pids = cluster.nodes.compactMap(\.server?.pid)
        let watchdogs = cluster.nodes.compactMap(\.server?.watchdogPID)
        let directories = cluster.nodes.compactMap(\.server?.directory)
        #expect(cluster.nodes.count == masters * (1 + replicas))
        #expect(pids.count == cluster.nodes.count && watchdogs.count == cluster.nodes.count)
        #expect(Set(cluster.nodes.map(\.port)).count == cluster.nodes.count)

        let map = try cluster.slotMap()
        #expect(map.coversAllSlots)
        #expect(map.masters.count == masters)
        #expect(map.ranges.allSatisfy { $0.replicas.count == replicas })
        for node in cluster.nodes {
            let connection = try cluster.connection(node)
            #expect(try connection.isClusterEnabled())
            #expect(try connection.send("CLUSTER", "INFO").string?.contains("cluster_state:ok") == true)
            let expected = try ClusterSlotMap(clusterSlots: connection.send("CLUSTER", "SLOTS"), from: node.address)
            #expect(expected.ranges.map(\.master.address) == map.ranges.map(\.master.address), "\(node) agrees")
        }
        let key = uniqueKey()
        let owner = try cluster.master(of: HashSlot(key: key))
        try cluster.connection(owner).send(RedisCommand("SET", key: key, "here"))
        #expect(try cluster.connection(owner).send(RedisCommand("GET", key: key)) == .bulkString("here"))

        cluster.stop()
        for pid in pids + watchdogs {
            #expect(kill(pid, 0) == -1 && errno == ESRCH, "pid \(pid) is gone")
        }
        for directory in directories {
            #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) is removed")
        }
        cluster.stop()
    }

    @Test("a standalone server is not in cluster mode, a cluster node is")
    func detectsClusterMode() throws {
        let server = try RedisServer()
        defer { server.stop() }
        #expect(try RedisConnection(endpoint: server.endpoint).isClusterEnabled() == false)
        let node = try RedisServer(.init(cluster: .init()))
        defer { node.stop() }
        #expect(try RedisConnection(endpoint: node.endpoint).isClusterEnabled())
        let port = try #require(node.port)
        #expect((10000...22767).contains(port), "its bus port \(port + 10000) stays below the ephemeral range")
    }
}
