import EmbeddedRedis
import Testing

@testable import Hiredis

/// RESP as `RedisCommand` and `RedisCommandPrefix` write it: the integers formatted without `String`, the fixed part
/// of a prefix copied, not encoded again.
@Suite("Command encoding")
struct CommandEncodingTests {
    /// The wire format spelled out by hand, from the arguments' text.
    static func resp(_ arguments: [String]) -> [UInt8] {
        var text = "*\(arguments.count)\r\n"
        for argument in arguments { text += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
        return Array(text.utf8)
    }

    static let integers: [Int64] = [
        0, 1, 9, 10, 11, 99, 100, 12_345, -1, -9, -10, -12_345, 999_999_999_999, Int64.max, Int64.min,
    ]

    @Test("integer arguments are spelled as String(value) spells them, the header's lengths counted right")
    func integers() {
        for value in Self.integers {
            let command = RedisCommand("SET", "k", RedisArgument(value))
            #expect(command.encoded == Self.resp(["SET", "k", String(value)]), "\(value)")
            #expect(command.arguments == [Array("SET".utf8), Array("k".utf8), Array(String(value).utf8)])
        }
    }

    @Test("an argument count and lengths of two and more digits are read back right (count, name, spans)")
    func manyArguments() {
        let long = String(repeating: "x", count: 1_234)
        let arguments = ["MSET"] + (0..<11).flatMap { ["key\($0)", $0 == 5 ? long : "v\($0)"] }
        let command = RedisCommand(arguments.map { RedisArgument($0) })
        #expect(command.encoded == Self.resp(arguments))
        #expect(command.count == 23)
        #expect(command.name == "MSET")
        #expect(command.arguments == arguments.map { Array($0.utf8) })
        #expect(!command.isEmpty)
        #expect(RedisCommand([]).isEmpty && RedisCommand("").isEmpty)
    }

    @Test("a prefix with its trailing arguments encodes exactly as the whole command does")
    func prefixMatchesWholeCommand() {
        let prefix = RedisCommandPrefix("HSETNX", "stock:ledger")
        for (field, value) in [("run1:0:1", Int64(1)), ("run1:0:123456", 99), ("", -7), ("a\r\nb", Int64.min)] {
            let command = prefix.command(RedisArgument(field), RedisArgument(value))
            let whole = RedisCommand("HSETNX", "stock:ledger", RedisArgument(field), RedisArgument(value))
            #expect(command == whole)
            #expect(command.encoded == Self.resp(["HSETNX", "stock:ledger", field, String(value)]))
        }
        #expect(RedisCommandPrefix("EXEC").command().transactionBoundary == false)
        #expect(RedisCommandPrefix("multi").command().transactionBoundary == true)
        #expect(RedisCommandPrefix("EVALSHA", "abc", 1).command("k", 2).transactionBoundary == nil)
        #expect(RedisCommandPrefix("").command("x").isEmpty)
    }

    @Test("a command built from a prefix runs on the server")
    func prefixCommandRuns() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        let prefix = RedisCommandPrefix("HSETNX", RedisArgument(key))
        #expect(try connection.send(prefix.command("order:1", 3)) == .integer(1))
        #expect(try connection.send(prefix.command("order:1", 4)) == .integer(0))
        #expect(try connection.send(RedisCommand("HGET", RedisArgument(key), "order:1")) == .bulkString("3"))
    }
}
