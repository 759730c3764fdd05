import EmbeddedRedis
import Hiredis
import Testing

@Suite("Scanning a hash")
struct HashScanTests {
    /// Every field and value `scanHash` handed over, as text.
    private static func scan(_ key: String, count: Int = 5000, on connection: RedisConnection) throws -> [String:
        [String]]
    {
        var entries: [String: [String]] = [:]
        try connection.scanHash(key, count: count) { field, value in
            let name = field.map { String(decoding: $0, as: UTF8.self) } ?? "<nil>"
            entries[name, default: []].append(value.map { String(decoding: $0, as: UTF8.self) } ?? "<nil>")
        }
        return entries
    }

    @Test("a hash of many pages is handed over whole, each entry once, and the connection is in step afterwards")
    func manyPages() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        let count = 20_000
        for start in stride(from: 0, to: count, by: 1000) {
            try connection.send(
                RedisCommand(
                    [RedisArgument("HSET"), RedisArgument(key)]
                        + (start..<start + 1000).flatMap { [RedisArgument("order-\($0)"), RedisArgument($0 + 1)] }))
        }

        let entries = try Self.scan(key, count: 700, on: connection)
        #expect(entries.count == count)
        #expect(entries.values.allSatisfy { $0.count == 1 })
        #expect(entries["order-0"] == ["1"] && entries["order-19999"] == ["20000"])
        // The pipelined next page left no reply unread: the next command gets its own.
        #expect(try connection.send("HLEN", RedisArgument(key)) == .integer(Int64(count)))
    }

    @Test("binary-safe bytes, an empty field and value, a small (listpack) hash, and a missing key")
    func smallAndOdd() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        try connection.send(RedisCommand("HSET", key: key, "", "", "a\r\nb", "x\u{0}y", "n", 7))

        var raw: [[UInt8]: [UInt8]] = [:]
        try connection.scanHash(key) { field, value in
            if let field, let value { raw[Array(field)] = Array(value) }
        }
        #expect(raw == [[]: [], Array("a\r\nb".utf8): Array("x\u{0}y".utf8), Array("n".utf8): Array("7".utf8)])

        var calls = 0
        try connection.scanHash(uniqueKey()) { _, _ in calls += 1 }
        #expect(calls == 0)
    }

    @Test("a key that is not a hash is refused with WRONGTYPE, and the connection stays usable")
    func wrongType() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        try connection.send(RedisCommand("SET", key: key, "1"))

        #expect {
            try connection.scanHash(key) { _, _ in }
        } throws: { error in
            (error as? RedisError)?.code == .serverError && (error as? RedisError)?.reply?.code == "WRONGTYPE"
        }
        #expect(try connection.send(RedisCommand("GET", key: key)) == .bulkString("1"))
    }
}
