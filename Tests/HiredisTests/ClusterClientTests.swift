import EmbeddedRedis
import Foundation
import Hiredis
import RedisTestSupport
import Testing

@Suite("RedisClusterClient: routing and redirects", .serialized, .sharedCluster(masters: 3, replicasPerMaster: 1))
struct ClusterClientTests {
    @Test("discovers the slot map from one seed and routes every key to its master; redis-cli -c reads the same")
    func routesByKey() throws {
        let cluster = try SharedCluster.cluster()
        let seed = try #require(cluster.nodes.last)
        let client = try RedisClusterClient(url: "redis+cluster://127.0.0.1:\(seed.port)")
        #expect(client.slotMap.coversAllSlots && client.slotMap.masters.count == 3)
        let keys = (0..<30).map { uniqueKey("routes\($0)") }
        for key in keys { try client.send(RedisCommand("SET", key: key, RedisArgument(key.count))) }
        #expect(client.statistics.moved == 0 && client.statistics.asked == 0)
        #expect(client.statistics.connections <= 4, "one connection per master, plus the seed's")
        var owners: Set<Int> = []
        for key in keys {
            let owner = try cluster.master(of: HashSlot(key: key))
            owners.insert(owner.port)
            #expect(try cluster.connection(owner).send(RedisCommand("GET", key: key)).int == Int64(key.count))
        }
        #expect(owners.count == 3, "the keys spread over every master")
        let key = try #require(keys.first)
        #expect(try redisCLI(port: seed.port, "GET", key) == String(key.count))
    }

    @Test("a multi-key command runs within one slot; keys in different slots are refused by name, nothing sent")
    func multiKeyCommands() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let tag = uniqueKey()
        let (first, second): (String, String) = ("{\(tag)}:a", "{\(tag)}:b")
        try client.send(RedisCommand("MSET", key: first, "1", RedisArgument(second), "2"))
        let values: RedisReply = try client.send(RedisCommand("MGET", key: first, RedisArgument(second)))
        let expected: RedisReply = .array([.bulkString("1"), .bulkString("2")])
        #expect(values == expected)

        let (a, b) = ("\(tag):a", "\(tag):z")
        let (slotA, slotB) = (HashSlot(key: a), HashSlot(key: b))
        try #require(slotA != slotB)
        let sent = client.statistics
        let error = try #require(throws: RedisError.self) {
            try client.send(RedisCommand("MGET", key: a, RedisArgument(b)))
        }
        #expect(error.code == .misuse)
        #expect(error.message.contains("'\(a)' (slot \(slotA))") && error.message.contains("'\(b)' (slot \(slotB))"))
        #expect(client.statistics == sent)
        // OBJECT's key is its third argument: the caller names the slot, and the command goes straight to its owner.
        try client.send(RedisCommand("SET", key: b, "1"))
        let encoding = RedisCommand("OBJECT", "ENCODING", RedisArgument(b))
        #expect(try client.send(encoding, slot: slotB) == .bulkString("int"))
        #expect(client.statistics.moved == sent.moved, "no redirect")
    }

    @Test("MOVED after a slot moved: the map is updated and the command runs on the new owner")
    func followsMoved() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let owner = try cluster.master(of: HashSlot(key: uniqueKey()))
        let key = try cluster.key(on: owner)
        try client.send(RedisCommand("SET", key: key, "moved"))
        let target = try cluster.master(otherThan: owner)
        try cluster.migrate(HashSlot(key: key), to: target)

        #expect(try client.send(RedisCommand("GET", key: key)) == .bulkString("moved"))
        #expect(client.statistics.moved == 1)
        #expect(client.slotMap.master(for: HashSlot(key: key))?.port == target.port)
        #expect(try client.send(RedisCommand("GET", key: key)) == .bulkString("moved"))
        #expect(client.statistics.moved == 1, "the second command goes straight to the new owner")
        #expect(try redisCLI(port: owner.port, "GET", key) == "moved")
    }

    @Test("a slot in migration answers as Redis documents: ASK, MOVED without ASKING, TRYAGAIN for split keys")
    func migrationStates() throws {
        let cluster = try SharedCluster.cluster()
        let source = try cluster.master(of: HashSlot(key: uniqueKey()))
        let tag = try cluster.key(on: source)
        let keys = ["{\(tag)}:a", "{\(tag)}:b"]
        let sourceConnection = try cluster.connection(source)
        for key in keys { try sourceConnection.send(RedisCommand("SET", key: key, "v")) }
        let slot = HashSlot(key: tag)
        let target = try cluster.master(otherThan: source)
        let migration = try cluster.beginMigration(of: slot, to: target)
        #expect(try migration.moveKeys(limit: 1) == 1)
        var asked: [String] = []
        for key in keys where try sourceConnection.request(RedisCommand("GET", key: key)).errorReply?.code == "ASK" {
            asked.append(key)
        }
        let moved = try #require(asked.first)
        let stayed = try #require(keys.first { $0 != moved })
        let targetConnection = try cluster.connection(target)

        let askReply: RedisReply = try sourceConnection.request(RedisCommand("GET", key: moved))
        let ask: ClusterRedirect? = askReply.errorReply.flatMap { ClusterRedirect($0) }
        #expect(ask?.kind == .ask && ask?.slot == slot && ask?.address == target.address)
        #expect(
            try sourceConnection.send(RedisCommand("GET", key: stayed)) == .bulkString("v"),
            "a key still here is served")
        let movedBack: RedisReply = try targetConnection.request(RedisCommand("GET", key: moved))
        let movedKind: ClusterRedirect.Kind? = movedBack.errorReply.flatMap { ClusterRedirect($0) }?.kind
        #expect(movedKind == .moved, "the importing node wants ASKING")
        #expect(
            try targetConnection.pipeline([RedisCommand("ASKING"), RedisCommand("GET", key: moved)])[1]
                == .bulkString("v"))
        var mgetArguments: [RedisArgument] = [RedisArgument("MGET")]
        for key in keys { mgetArguments.append(RedisArgument(key)) }
        let mget = RedisCommand(mgetArguments)
        #expect(try sourceConnection.request(mget).errorReply?.code == "TRYAGAIN")

        let client = try RedisClusterClient(
            endpoint: cluster.endpoint, configuration: .init(retry: .clusterBusy(deadline: .seconds(60))))
        #expect(try client.send(RedisCommand("GET", key: moved)) == .bulkString("v"))
        #expect(client.statistics.asked == 1 && client.statistics.moved == 0)
        #expect(client.slotMap.master(for: slot)?.port == source.port, "ASK leaves the map as it was")

        // TRYAGAIN is waited out. The migration finishes once the source has turned the client's MGET away (its
        // errorstats say so: no guessed delay, so the client meets TRYAGAIN however loaded the machine is), and the
        // command then follows the one redirect that comes next: MOVED once the slot is the target's, or ASK if its
        // retry falls between the last keys' move and SETSLOT NODE. Either way it runs once, on the target.
        let turnedAway = cluster.errorReplies("TRYAGAIN", from: source)
        let turnedAwayAgain: @Sendable () -> Bool = { cluster.errorReplies("TRYAGAIN", from: source) > turnedAway }
        let finishing = DelayedAction(when: turnedAwayAgain, within: .seconds(30)) { try? migration.finish() }
        let both = try client.send(mget)
        finishing.wait()
        let bothExpected: RedisReply = .array([.bulkString("v"), .bulkString("v")])
        #expect(both == bothExpected)
        #expect(client.statistics.retries >= 1)
        #expect(client.statistics.moved + client.statistics.asked == 2, "one redirect after the earlier ASK")
        #expect(try cluster.master(of: slot).id == target.id)
    }

    @Test("a pipeline goes to the slot's owner in one round trip and follows MOVED with the commands that did not run")
    func pipelines() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let tag = uniqueKey()
        let commands: [RedisCommand] = (0..<10).map { (number: Int) -> RedisCommand in
            RedisCommand("INCRBY", key: "{\(tag)}:\(number)", RedisArgument(number))
        }
        let once: [RedisReply] = (0..<10).map { (number: Int) -> RedisReply in .integer(Int64(number)) }
        let twice: [RedisReply] = (0..<10).map { (number: Int) -> RedisReply in .integer(Int64(2 * number)) }
        #expect(try client.pipeline(commands) == once)
        let owner = try cluster.master(of: HashSlot(key: tag))
        try cluster.migrate(HashSlot(key: tag), to: try cluster.master(otherThan: owner))
        #expect(try client.pipeline(commands) == twice, "each ran exactly once more")
        #expect(client.statistics.moved == 1)
        let error = try #require(throws: RedisError.self) {
            try client.pipeline([RedisCommand("GET", key: "\(tag):a"), RedisCommand("GET", key: "\(tag):b")])
        }
        #expect(error.code == .misuse)
    }

    @Test("redirects are bounded: past maxRedirects the command throws tooManyRedirects")
    func redirectLimit() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint, configuration: .init(maxRedirects: 0))
        let key = uniqueKey()
        let owner = try cluster.master(of: HashSlot(key: key))
        try cluster.migrate(HashSlot(key: key), to: try cluster.master(otherThan: owner))
        let error = try #require(throws: RedisError.self) { try client.send(RedisCommand("GET", key: key)) }
        #expect(error.code == .tooManyRedirects)
        #expect(error.message.contains("MOVED \(HashSlot(key: key))"))
    }

    @Test("a failover: the replica is promoted, the old master answers MOVED, the client follows with the data intact")
    func followsFailover() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let owner = try #require(try cluster.masters().first { !(try cluster.replicas(of: $0)).isEmpty })
        let replica = try #require(try cluster.replicas(of: owner).first)
        let key = try cluster.key(on: owner)
        try client.send(RedisCommand("SET", key: key, "before"))
        try cluster.connection(owner).send("WAIT", 1, 2000)

        try cluster.failover(to: replica)
        #expect(try cluster.master(of: HashSlot(key: key)).id == replica.id)
        #expect(try client.send(RedisCommand("GET", key: key)) == .bulkString("before"))
        #expect(client.statistics.moved == 1)
        try client.send(RedisCommand("SET", key: key, "after"))
        #expect(try redisCLI(port: owner.port, "GET", key) == "after", "redis-cli -c, asking the old master, agrees")
    }

    @Test("a killed master: the client retries until its replica took over, then runs the command there")
    func survivesKilledMaster() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(
            endpoint: cluster.endpoint, options: .init(connectTimeout: .seconds(1), commandTimeout: .seconds(2)),
            configuration: .init(retry: .clusterBusy(deadline: .seconds(20))))
        let owner = try #require(try cluster.masters().first { !(try cluster.replicas(of: $0)).isEmpty })
        let replica = try #require(try cluster.replicas(of: owner).first)
        let key = try cluster.key(on: owner)
        try client.send(RedisCommand("SET", key: key, "kept"))
        try cluster.connection(owner).send("WAIT", 1, 2000)

        cluster.kill(owner)
        // The connection to the killed master breaks under the first command, which may have run: that is thrown.
        // The next command finds the master gone and retries until its replica took over.
        let get = RedisCommand("GET", key: key)
        let first: Result<RedisReply, RedisError> = Result { () throws(RedisError) in try client.send(get) }
        var value: RedisReply = .null
        switch first {
        case .success(let reply):
            value = reply
        case .failure(let error):
            #expect(error.code == .connectionLost)
            value = try client.send(get)
        }
        #expect(value == .bulkString("kept"))
        #expect(client.statistics.retries >= 1)
        #expect(client.slotMap.master(for: HashSlot(key: key))?.port == replica.port)
        try cluster.waitUntilHealthy()
    }
}
