import EmbeddedRedis
import Foundation
import Hiredis
import RedisTestSupport
import Testing

/// Decrements the stock key by one when it is positive; the shape of StockSim's `watch` strategy.
private func sell(_ key: String) -> (TransactionAttempt) throws -> TransactionDecision<Void> {
    { attempt in
        guard let units = attempt.read.int, units > 0 else { return .abort }
        return .commit([RedisCommand("DECRBY", key: key, 1)])
    }
}

/// `INFO commandstats` of every master says nobody ran `command` since `CONFIG RESETSTAT`.
private func nobodyRan(_ command: String, on cluster: RedisClusterServer) throws -> Bool {
    for master in try cluster.masters() {
        let stats: String = try cluster.connection(master).send("INFO", "commandstats").string ?? ""
        if stats.contains("cmdstat_\(command):") { return false }
    }
    return true
}

@Suite("RedisClusterClient transactions: redirects retry the whole transaction", .serialized, .sharedCluster())
struct ClusterTransactionTests {
    @Test("commits on the slot's owner; a conflict is counted as a conflict, not a redirect")
    func commitsAndCountsConflicts() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let key = uniqueKey()
        try client.send(RedisCommand("SET", key: key, 10))
        let rival = try RedisClusterClient(endpoint: cluster.endpoint)
        let result = try client.transaction(watching: [RedisArgument(key)], read: RedisCommand("GET", key: key)) {
            attempt in
            if attempt.number == 1 { try rival.send(RedisCommand("DECRBY", key: key, 1)) }
            return try sell(key)(attempt)
        }
        #expect(result.attempts == 2 && result.conflicts == 1 && result.redirects == 0)
        let owner = try cluster.master(of: HashSlot(key: key))
        #expect(try redisCLI(port: owner.port, "GET", key) == "8")
    }

    @Test("MOVED at WATCH (the slot moved since the map was read): retried on the new owner, one redirect")
    func movedAtWatch() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let key = uniqueKey()
        try client.send(RedisCommand("SET", key: key, 5))
        let owner = try cluster.master(of: HashSlot(key: key))
        let target = try cluster.master(otherThan: owner)
        try cluster.migrate(HashSlot(key: key), to: target)

        let result = try client.transaction(
            watching: [RedisArgument(key)], read: RedisCommand("GET", key: key), sell(key))
        #expect(result.attempts == 2 && result.redirects == 1 && result.conflicts == 0)
        #expect(try redisCLI(port: owner.port, "GET", key) == "4", "redis-cli -c, asking the old owner, reads 4")
    }

    @Test("ASK during a migration: WATCH, the read and MULTI go to the importing node after ASKING; the map stays")
    func askDuringMigration() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let key = uniqueKey()
        try client.send(RedisCommand("SET", key: key, 3))
        let slot = HashSlot(key: key)
        let source = try cluster.master(of: slot)
        let target = try cluster.master(otherThan: source)
        let migration = try cluster.beginMigration(of: slot, to: target)
        #expect(try migration.moveKeys() == 1)

        let result = try client.transaction(
            watching: [RedisArgument(key)], read: RedisCommand("GET", key: key), sell(key))
        #expect(result.attempts == 2 && result.redirects == 1 && result.conflicts == 0)
        #expect(client.statistics.asked == 1)
        #expect(client.slotMap.master(for: slot)?.port == source.port)
        let onTarget: RedisReply = try cluster.connection(target).pipeline([
            RedisCommand("ASKING"), RedisCommand("GET", key: key),
        ])[1]
        #expect(onTarget.int == 2)
        try migration.finish()
        #expect(try redisCLI(port: source.port, "GET", key) == "2")
    }

    @Test("MOVED inside EXECABORT (the slot moved while the body ran): retried on the new owner, not a conflict")
    func movedInsideExecAbort() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let key = uniqueKey()
        try client.send(RedisCommand("SET", key: key, 7))
        let owner = try cluster.master(of: HashSlot(key: key))
        let target = try cluster.master(otherThan: owner)
        var nodes: [Int] = []
        let result = try client.transaction(watching: [RedisArgument(key)], read: RedisCommand("GET", key: key)) {
            attempt in
            nodes.append(attempt.connection.endpoint.address == .tcp(host: "127.0.0.1", port: owner.port) ? 0 : 1)
            if attempt.number == 1 { try cluster.migrate(HashSlot(key: key), to: target) }
            return try sell(key)(attempt)
        }
        #expect(nodes == [0, 1], "the second attempt ran on the new owner")
        #expect(result.attempts == 2 && result.redirects == 1 && result.conflicts == 0)
        #expect(try redisCLI(port: target.port, "GET", key) == "6")
    }

    @Test("TRYAGAIN for watched keys split by a migration is waited out; the MOVED after it is followed")
    func tryAgainThenMoved() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(
            endpoint: cluster.endpoint, configuration: .init(retry: .clusterBusy(deadline: .seconds(60))))
        let tag = uniqueKey()
        let (a, b) = ("{\(tag)}:a", "{\(tag)}:b")
        try client.send(RedisCommand("MSET", key: a, 1, RedisArgument(b), 1))
        let slot = HashSlot(key: a)
        let source = try cluster.master(of: slot)
        let migration = try cluster.beginMigration(of: slot, to: try cluster.master(otherThan: source))
        #expect(try migration.moveKeys(limit: 1) == 1)
        // Finished once the source has turned the WATCH away (its errorstats say so), not after a guessed delay.
        let turnedAway = cluster.errorReplies("TRYAGAIN", from: source)
        let turnedAwayAgain: @Sendable () -> Bool = { cluster.errorReplies("TRYAGAIN", from: source) > turnedAway }
        let finishing = DelayedAction(when: turnedAwayAgain, within: .seconds(30)) { try? migration.finish() }
        let result = try client.transaction(watching: [RedisArgument(a), RedisArgument(b)]) { _ in
            .commit([RedisCommand("INCR", key: a), RedisCommand("INCR", key: b)])
        }
        finishing.wait()
        #expect(result.conflicts == 0 && result.redirects >= 1)
        #expect(client.statistics.retries >= 1)
        #expect(try redisCLI(port: source.port, "MGET", a, b) == "2\n2")
    }

    @Test("keys in two slots are refused before anything is sent; commands writing another slot before MULTI")
    func crossSlotRefused() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        for master in try cluster.masters() { try cluster.connection(master).send("CONFIG", "RESETSTAT") }
        let tag = uniqueKey()
        let (a, b) = ("\(tag):a", "\(tag):z")
        try #require(HashSlot(key: a) != HashSlot(key: b))
        var ran = false
        let error = try #require(throws: RedisError.self) {
            try client.transaction(watching: [RedisArgument(a), RedisArgument(b)]) { _ in
                ran = true
                return .abort
            }
        }
        #expect(error.code == .misuse && !ran)
        #expect(error.message.contains("'\(a)' (slot \(HashSlot(key: a)))"))
        #expect(error.message.contains("'\(b)' (slot \(HashSlot(key: b)))"))
        #expect(try nobodyRan("watch", on: cluster))

        let writing = try #require(throws: RedisError.self) {
            try client.transaction(watching: [RedisArgument(a)]) { _ in .commit([RedisCommand("SET", key: b, 1)]) }
        }
        #expect(writing.code == .misuse && writing.message.contains("slot \(HashSlot(key: b))"))
        #expect(try nobodyRan("multi", on: cluster))
        #expect(try nobodyRan("set", on: cluster))
    }

    @Test("a command refused while queueing (EXECABORT without a redirect) is thrown, naming the refusal")
    func refusalIsThrown() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let key = uniqueKey()
        let error = try #require(throws: RedisError.self) {
            try client.transaction(watching: [RedisArgument(key)]) { _ in .commit([RedisCommand("SET", key: key)]) }
        }
        #expect(error.code == .serverError && error.reply?.code == "EXECABORT")
        #expect(error.message.contains("SET was refused"))
    }

    @Test("inside the caller's open MULTI on the owner's connection: misuse, and nothing sent (EXEC answers [])")
    func insideTheCallersMulti() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(endpoint: cluster.endpoint)
        let key = uniqueKey()
        try client.send(RedisCommand("SET", key: key, 4))
        let owner = try client.connection(for: HashSlot(key: key))
        try owner.send("MULTI")
        var ran = false
        let error = try #require(throws: RedisError.self) {
            try client.transaction(watching: [RedisArgument(key)], read: RedisCommand("GET", key: key)) { _ in
                ran = true
                return .abort
            }
        }
        #expect(error.code == .misuse && !ran)
        #expect(try owner.send("EXEC") == .array([]), "neither the read nor UNWATCH was queued into the caller's MULTI")
        let result = try client.transaction(
            watching: [RedisArgument(key)], read: RedisCommand("GET", key: key), sell(key))
        #expect(result.attempts == 1 && result.redirects == 0)
        #expect(try client.send(RedisCommand("GET", key: key)) == .bulkString("3"))
    }

    @Test("a lost EXEC reply is an unknown outcome, never retried")
    func lostExecReply() throws {
        let cluster = try SharedCluster.cluster()
        let client = try RedisClusterClient(
            endpoint: cluster.endpoint, options: .init(commandTimeout: .milliseconds(200)))
        let key = uniqueKey()
        try client.send(RedisCommand("SET", key: key, 1))
        let owner = try cluster.master(of: HashSlot(key: key))
        var bodies = 0
        let error = try #require(throws: RedisError.self) {
            try client.transaction(watching: [RedisArgument(key)]) { _ in
                bodies += 1
                try cluster.connection(owner).send("CLIENT", "PAUSE", 600, "ALL")
                return .commit([RedisCommand("INCR", key: key)])
            }
        }
        #expect(error.code == .outcomeUnknown && error.cause == .timeout)
        #expect(bodies == 1)
        usleep(700_000)
    }
}
