import EmbeddedRedis
import Hiredis
import Testing

@Suite("Pipelining")
struct PipelineTests {
    @Test("1000 writes interleaved with reads come back in order, each with its own reply")
    func orderOfManyCommands() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let list = uniqueKey()
        let count = 1000

        var commands: [RedisCommand] = []
        for index in 0..<count {
            commands.append(RedisCommand("RPUSH", key: list, RedisArgument(index)))
            commands.append(RedisCommand("LINDEX", key: list, -1))
        }
        commands.append(RedisCommand("LLEN", key: list))
        let replies = try connection.pipeline(commands)

        #expect(replies.count == commands.count)
        var outOfOrder: [Int] = []
        for index in 0..<count
        where replies[2 * index] != .integer(Int64(index + 1)) || replies[2 * index + 1] != .bulkString("\(index)") {
            outOfOrder.append(index)
        }
        #expect(outOfOrder.isEmpty, "replies out of order at \(outOfOrder.prefix(5))")
        #expect(replies.last == .integer(Int64(count)))
        #expect(
            try connection.send(RedisCommand("LRANGE", key: list, 0, 2))
                == .array([.bulkString("0"), .bulkString("1"), .bulkString("2")]))
    }

    @Test("a command built once can be queued many times")
    func reusedCommand() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let increment = RedisCommand("INCR", key: uniqueKey())

        let replies = try connection.pipeline(Array(repeating: increment, count: 500))
        #expect(replies == (1...500).map { .integer(Int64($0)) })
    }

    @Test("a command is sent in wire format with each argument's byte length: empty, holding CRLF and RESP, 1 MiB")
    func argumentsAreLengthPrefixed() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        let tricky = "a\r\n*1\r\n$4\r\nPING\r\n"
        let large = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)

        let command = RedisCommand(
            "HSET", key: key, "", "empty name", "crlf", RedisArgument(tricky), "large", .bytes(large))
        #expect(command.count == 8)
        #expect(command.arguments[2] == [] && command.arguments[5] == Array(tricky.utf8))
        #expect(try connection.send(command) == .integer(3))
        let replies = try connection.pipeline([
            RedisCommand("HGET", key: key, ""), RedisCommand("HGET", key: key, "crlf"),
            RedisCommand("HSTRLEN", key: key, "large"),
            RedisCommand("PING"),
        ])
        #expect(replies == [.bulkString("empty name"), .bulkString(tricky), .integer(1 << 20), .status("PONG")])
    }

    @Test("error replies are elements of the result, not thrown, and the commands after them still run")
    func errorsAreElements() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()

        let replies = try connection.pipeline([
            RedisCommand("SET", key: key, "x"),
            RedisCommand("INCR", key: key),
            RedisCommand("GET", key: key),
            RedisCommand("LPUSH", key: key, "a"),
            RedisCommand("APPEND", key: key, "y"),
            RedisCommand("PING"),
        ])
        #expect(replies.count == 6)
        #expect(replies[0] == .status("OK"))
        #expect(replies[1].errorReply?.code == "ERR")
        #expect(replies[2] == .bulkString("x"))
        #expect(replies[3].errorReply?.code == "WRONGTYPE")
        #expect(replies[4] == .integer(2))
        #expect(replies[5] == .status("PONG"))
        #expect(connection.isConnected)
    }

    @Test("an empty pipeline sends nothing and returns no replies")
    func emptyPipeline() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)

        #expect(try connection.pipeline([]).isEmpty)
        #expect(try connection.send("PING") == .status("PONG"))
    }

    @Test("a pipeline on a closed connection throws .misuse")
    func closedConnection() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        connection.close()

        let error = try #require(throws: RedisError.self) { try connection.pipeline([RedisCommand("PING")]) }
        #expect(error.code == .misuse)
        #expect(error.message.contains("reconnect()"))
    }
}
