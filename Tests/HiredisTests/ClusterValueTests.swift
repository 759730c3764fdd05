import Hiredis
import Testing

@Suite("Redis Cluster values: redirects, slot maps, cluster URLs")
struct ClusterValueTests {
    @Test("MOVED and ASK replies parse into kind, slot, host and port")
    func redirects() throws {
        let moved = try #require(ClusterRedirect(RedisErrorReply(line: "MOVED 3999 127.0.0.1:6381")))
        #expect(
            moved.kind == .moved && moved.slot.rawValue == 3999 && moved.address == .init(host: "127.0.0.1", port: 6381)
        )
        let ask = try #require(ClusterRedirect(RedisErrorReply(line: "ASK 12182 redis-2.example:7001")))
        #expect(
            ask.kind == .ask && ask.slot.rawValue == 12182 && ask.address == .init(host: "redis-2.example", port: 7001))
        let ipv6 = try #require(ClusterRedirect(RedisErrorReply(line: "MOVED 1 ::1:7000")))
        #expect(ipv6.address == .init(host: "::1", port: 7000))
        let unknownHost = try #require(ClusterRedirect(RedisErrorReply(line: "MOVED 7 :7002")))
        #expect(
            unknownHost.resolved(against: .init(host: "10.0.0.5", port: 7000)).address
                == .init(host: "10.0.0.5", port: 7002))
        for line in [
            "MOVED", "MOVED 16384 h:1", "MOVED x h:1", "ASK 1 h", "ASK 1 h:0", "ERR MOVED 1 h:1", "TRYAGAIN x",
        ] {
            #expect(ClusterRedirect(RedisErrorReply(line: line)) == nil, "\(line)")
        }
    }

    @Test("a CLUSTER SLOTS reply becomes a slot map; MOVED splits a range")
    func slotMap() throws {
        func node(_ host: String, _ port: Int64, _ id: String) -> RedisReply {
            .array([.bulkString(host), .integer(port), .bulkString(id), .array([])])
        }
        let reply = RedisReply.array([
            .array([.integer(5461), .integer(16383), node("127.0.0.1", 7001, "b"), node("", 7004, "e")]),
            .array([.integer(0), .integer(5460), node("?", 7000, "a")]),
        ])
        var map = try ClusterSlotMap(clusterSlots: reply, from: .init(host: "10.1.1.1", port: 7000))
        #expect(map.ranges.map(\.slots) == [0...5460, 5461...16383])
        #expect(map.ranges[0].master == ClusterNode(address: .init(host: "10.1.1.1", port: 7000), id: "a"))
        #expect(map.ranges[1].replicas.map(\.address) == [.init(host: "10.1.1.1", port: 7004)])
        #expect(map.coversAllSlots)
        #expect(map.master(for: try #require(HashSlot(5461)))?.id == "b")

        map.assign(try #require(HashSlot(6000)), to: ClusterNode(address: .init(host: "10.1.1.1", port: 7000)))
        #expect(map.ranges.map(\.slots) == [0...5460, 5461...5999, 6000...6000, 6001...16383])
        #expect(map.master(for: try #require(HashSlot(6000)))?.id == "a", "the known node keeps its id")
        #expect(map.coversAllSlots)
        #expect(map.masters.count == 2)

        #expect(throws: RedisError.self) {
            try ClusterSlotMap(clusterSlots: .array([.array([.integer(1)])]), from: .init(host: "h", port: 1))
        }
    }

    @Test("redis+cluster:// URLs give seeds and shared credentials")
    func clusterURLs() throws {
        let plain = try RedisClusterEndpoint(url: "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002,redis-3")
        #expect(
            plain.seeds == [
                .init(host: "127.0.0.1", port: 7000), .init(host: "127.0.0.1", port: 7001),
                .init(host: "::1", port: 7002),
                .init(host: "redis-3", port: 6379),
            ])
        #expect(plain.user == nil && plain.password == nil)
        let secret = try RedisClusterEndpoint(url: "redis+cluster://clerk:p%40ss@h1:7000,h2:7001/0")
        #expect(secret.user == "clerk" && secret.password == "p@ss")
        #expect(
            secret.endpoint(.init(host: "h2", port: 7001))
                == .tcp(host: "h2", port: 7001, user: "clerk", password: "p@ss"))
        #expect(secret.description == "redis+cluster://clerk:***@h1:7000,h2:7001")

        for (url, reason) in [
            ("redis+cluster://h:7000/1", "database 0 only"), ("redis://h:7000", "must start with redis+cluster://"),
            ("redis+cluster://h:7000,,h:7001", "the host is missing"), ("redis+cluster://h:99999", "port"),
            ("redis+cluster://u:hunter2@h:x", "port"),
        ] {
            let error = try #require(throws: RedisError.self) { try RedisClusterEndpoint(url: url) }
            #expect(error.code == .invalidEndpoint)
            #expect(error.message.contains(reason), "\(error.message)")
            #expect(!error.message.contains("hunter2"), "the password is never in a message")
        }
    }
}
