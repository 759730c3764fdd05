import EmbeddedRedis
import Hiredis
import Testing

/// Every RESP2 reply type, as a real redis-server sends it, copied into `RedisReply`.
@Suite("Reply types")
struct ReplyTests {
    @Test("a status reply: SET answers .status(\"OK\")")
    func status() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()

        #expect(try connection.send(RedisCommand("SET", key: key, "v")) == .status("OK"))
        #expect(try connection.send("PING") == .status("PONG"))
        #expect(try connection.send(RedisCommand("TYPE", key: key)) == .status("string"))
    }

    @Test("an error reply keeps Redis's code apart from its text")
    func errorReplyCodes() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()

        try connection.send(RedisCommand("SET", key: key, "not a number"))
        let replies = try connection.pipeline([
            RedisCommand("INCR", key: key),
            RedisCommand("LPUSH", key: key, "x"),
            RedisCommand("NO-SUCH-COMMAND"),
        ])
        let notInteger = try #require(replies[0].errorReply)
        #expect(notInteger.code == "ERR")
        #expect(notInteger.message == "value is not an integer or out of range")
        let wrongType = try #require(replies[1].errorReply)
        #expect(wrongType.code == "WRONGTYPE")
        #expect(wrongType.message.hasPrefix("Operation against a key holding the wrong kind of value"))
        #expect(replies[2].errorReply?.code == "ERR")
        #expect(replies[2].errorReply?.message.contains("unknown command") == true)
        #expect(replies.allSatisfy { $0.isError })
    }

    @Test("send throws .serverError carrying the error reply's code, and the connection stays usable")
    func sendThrowsServerError() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        try connection.send(RedisCommand("SET", key: key, "text"))

        let wrongType = try #require(throws: RedisError.self) {
            try connection.send(RedisCommand("LPUSH", key: key, "x"))
        }
        #expect(wrongType.code == .serverError)
        #expect(wrongType.reply?.code == "WRONGTYPE")
        #expect(wrongType.message.contains("LPUSH"))
        #expect(!wrongType.closesConnection)

        let notInteger = try #require(throws: RedisError.self) { try connection.send(RedisCommand("INCR", key: key)) }
        #expect(notInteger.code == .serverError)
        #expect(notInteger.reply?.code == "ERR")

        #expect(connection.isConnected)
        #expect(try connection.send(RedisCommand("GET", key: key)) == .bulkString("text"))
    }

    @Test("an integer reply, positive and negative")
    func integer() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()

        #expect(try connection.send(RedisCommand("INCRBY", key: key, 41)) == .integer(41))
        #expect(try connection.send(RedisCommand("DECRBY", key: key, 100)) == .integer(-59))
        #expect(try connection.send(RedisCommand("EXISTS", key: key)).int == 1)
        #expect(
            try connection.send(RedisCommand("INCRBY", key: key, RedisArgument(Int64.max - 1000)))
                == .integer(Int64.max - 1059))
    }

    @Test("a bulk reply is binary-safe: NUL bytes and bytes ≥ 0x80 round-trip through RedisArgument.bytes")
    func binaryBulk() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        let every: [UInt8] = Array(0...255)
        let value: [UInt8] = [0x00, 0x41, 0x00, 0x0D, 0x0A, 0x80, 0xC3, 0xFF, 0x00] + every + every.reversed()

        #expect(try connection.send(RedisCommand("SET", key: key, .bytes(value))) == .status("OK"))
        let reply = try connection.send(RedisCommand("GET", key: key))
        #expect(reply == .bulk(value))
        #expect(reply.bytes?.count == value.count)
        #expect(reply.string == nil, "not valid UTF-8, so no String")
        #expect(try connection.send(RedisCommand("STRLEN", key: key)) == .integer(Int64(value.count)))

        // A binary key, too.
        let binaryKey: [UInt8] = Array(key.utf8) + [0x00, 0xFE]
        try connection.send(RedisCommand([RedisArgument("SET"), .bytes(binaryKey), "x"]))
        #expect(try connection.send(RedisCommand([RedisArgument("GET"), .bytes(binaryKey)])) == .bulkString("x"))
        #expect(try connection.send(RedisCommand([RedisArgument("GET"), .bytes(Array(key.utf8) + [0x00])])) == .null)
    }

    @Test("an empty bulk string is .bulk([]), not .null")
    func emptyBulk() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()

        try connection.send(RedisCommand("SET", key: key, ""))
        let reply = try connection.send(RedisCommand("GET", key: key))
        #expect(reply == .bulk([]))
        #expect(!reply.isNull)
        #expect(reply.string == "")
    }

    @Test("GET of a missing key is .null")
    func null() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)

        let reply = try connection.send(RedisCommand("GET", key: uniqueKey()))
        #expect(reply == .null)
        #expect(reply.isNull)
        #expect(reply.int == nil)
        #expect(reply.string == nil)
    }

    @Test("an array reply, with a null element inside")
    func array() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let list = uniqueKey()
        let present = uniqueKey()

        try connection.send(RedisCommand("RPUSH", key: list, "a", "b", "c"))
        #expect(
            try connection.send(RedisCommand("LRANGE", key: list, 0, -1))
                == .array([.bulkString("a"), .bulkString("b"), .bulkString("c")]))

        try connection.send(RedisCommand("SET", key: present, "1"))
        let both = try connection.send(RedisCommand("MGET", key: present, RedisArgument(uniqueKey())))
        #expect(both == .array([.bulkString("1"), .null]))
        #expect(both.array?.count == 2)
    }

    @Test("nested arrays from a Lua script, including an empty one")
    func nestedArrays() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)

        let reply = try connection.send("EVAL", "return {1, {2, 'x', {-3}}, {}}", 0)
        #expect(
            reply
                == .array([.integer(1), .array([.integer(2), .bulkString("x"), .array([.integer(-3)])]), .array([])]))
    }

    @Test("nested arrays from EXEC: one element per queued command, each of its own type")
    func nestedArraysFromExec() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let list = uniqueKey()

        let replies = try connection.pipeline([
            RedisCommand("MULTI"),
            RedisCommand("RPUSH", key: list, "a", "b"),
            RedisCommand("LRANGE", key: list, 0, -1),
            RedisCommand("LRANGE", key: uniqueKey(), 0, -1),
            RedisCommand("EXEC"),
        ])
        #expect(replies[0..<4] == [.status("OK"), .status("QUEUED"), .status("QUEUED"), .status("QUEUED")])
        #expect(replies[4] == .array([.integer(2), .array([.bulkString("a"), .bulkString("b")]), .array([])]))
    }

    @Test("an empty array: LRANGE of a missing key")
    func emptyArray() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)

        let reply = try connection.send(RedisCommand("LRANGE", key: uniqueKey(), 0, -1))
        #expect(reply == .array([]))
        #expect(reply.array?.isEmpty == true)
        #expect(!reply.isNull)
    }

    @Test(
        "RedisReply.int parses a bulk string that holds a base-10 integer, and nothing else",
        arguments: [
            ("42", Int64?.some(42)),
            ("-17", -17),
            ("0", 0),
            ("9223372036854775807", Int64.max),
            ("-9223372036854775808", Int64.min),
            ("9223372036854775808", nil),
            ("4x", nil),
            ("", nil),
            ("-", nil),
            (" 1", nil),
            ("1.5", nil),
        ])
    func intOfBulk(stored: String, expected: Int64?) throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()

        try connection.send(RedisCommand("SET", key: key, RedisArgument(stored)))
        let reply = try connection.send(RedisCommand("GET", key: key))
        #expect(reply == .bulkString(stored))
        #expect(reply.int == expected)
    }

    @Test("int of a status, an array or an error is nil")
    func intOfOtherTypes() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)

        let replies = try connection.pipeline([
            RedisCommand("ECHO", "12"), RedisCommand("PING"), RedisCommand("TIME"), RedisCommand("INCR"),
        ])
        #expect(replies[0].int == 12)
        #expect(replies[1].int == nil)
        #expect(replies[2].int == nil)
        #expect(replies[2].array?.count == 2)
        #expect(replies[3].int == nil)
        #expect(replies[3].isError)
    }
}
