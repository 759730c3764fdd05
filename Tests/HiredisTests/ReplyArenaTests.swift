import EmbeddedRedis
import Testing

@testable import Hiredis

/// A connection's replies are built in an arena it keeps (`chiredis_arena` in the shim) instead of one allocation per
/// value: replies larger than its chunk, a reply read while another is held, and what comes after either must all
/// read back exactly as Redis sent them.
@Suite("Reply arena")
struct ReplyArenaTests {
    @Test("replies far larger than a chunk, then small ones, read back exactly, again and again")
    func largeRepliesThenSmallOnes() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let value = (0..<1_048_576).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let blob = uniqueKey("blob")
        let list = uniqueKey("list")
        try connection.send(RedisCommand("SET", key: blob, .bytes(value)))
        let elements = (0..<20_000).map { "element-\($0)" }
        for start in stride(from: 0, to: elements.count, by: 1_000) {
            let batch = elements[start..<start + 1_000].map { RedisArgument($0) }
            try connection.send(RedisCommand([RedisArgument("RPUSH"), RedisArgument(list)] + batch))
        }
        for round in 0..<3 {
            #expect(try connection.send(RedisCommand("GET", key: blob)) == .bulk(value), "round \(round)")
            let range = try connection.send(RedisCommand("LRANGE", key: list, 0, -1))
            #expect(range.array?.count == elements.count, "round \(round)")
            #expect(range == .array(elements.map { .bulk(Array($0.utf8)) }), "round \(round)")
            #expect(try connection.send("PING") == .status("PONG"))
            #expect(try connection.send(RedisCommand("STRLEN", key: blob)).int == Int64(value.count))
        }
    }

    @Test("a reply read while another is held leaves the held one intact")
    func nestedReads() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        try connection.send(RedisCommand("RPUSH", key: key, "a", "bb", "ccc"))
        let big = String(repeating: "x", count: 10_000)
        try connection.append(RedisCommand("LRANGE", key: key, 0, -1))
        try connection.append(RedisCommand("ECHO", RedisArgument(big)))
        try connection.append(RedisCommand("ECHO", "small"))
        let (outer, inner, innermost) = try connection.withNextReply { held throws(RedisError) in
            let inner = try connection.withNextReply { second throws(RedisError) in
                // The second reply's memory comes after the first's, here larger than a chunk.
                (RedisConnection.copy(held), RedisConnection.copy(second), try connection.readReply())
            }
            return (RedisConnection.copy(held), inner, inner.0)
        }
        let expected = RedisReply.array([.bulk(Array("a".utf8)), .bulk(Array("bb".utf8)), .bulk(Array("ccc".utf8))])
        #expect(outer == expected, "the first reply, read after two more while it was held")
        #expect(inner.0 == expected)
        #expect(inner.1 == .bulk(Array(big.utf8)))
        #expect(inner.2 == .bulk(Array("small".utf8)))
        #expect(innermost == expected)
        #expect(try connection.send("PING") == .status("PONG"), "the next reply after the arena started over")
    }

    @Test("after the connection breaks and reconnects, replies are built in the same arena as before")
    func acrossReconnects() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let killer = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        try connection.send(RedisCommand("SET", key: key, "before"))
        try killer.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        #expect(throws: RedisError.self) { try connection.send("PING") }
        try connection.reconnect()
        #expect(try connection.send(RedisCommand("GET", key: key)) == .bulk(Array("before".utf8)))
        #expect(try connection.send("PING") == .status("PONG"))
    }
}
