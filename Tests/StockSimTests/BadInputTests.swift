import EmbeddedRedis
import Foundation
import Hiredis
import StockSim
import Testing

/// Bad input gets one line on stderr that says what is wrong, a documented status, and nothing written to Redis.
@Suite("stocksim bad input", .serialized)
struct BadInputTests {
    let redis: SharedRedis

    init() throws {
        redis = try SharedRedis()
    }

    /// Runs stocksim against the suite's server and checks the status, the message and that Redis is unchanged.
    func expectRefusal(_ arguments: [String], status: Int32, mentioning words: [String], key: String) throws {
        let connection = try redis.connection()
        let before = try connection.send("DBSIZE").int
        let snapshot = try connection.send("DUMP", RedisArgument(key))
        let result = try StocksimCLI.run(["run", "--redis", redis.url, "--key", key, "--quiet"] + arguments)
        #expect(result.exitCode == status, "stderr: \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(result.stderr)")
        for word in words { #expect(result.stderr.contains(word), "'\(word)' not in: \(result.stderr)") }
        #expect(result.stdout.isEmpty)
        #expect(try connection.send("DBSIZE").int == before, "something was written to Redis")
        #expect(try connection.send("DUMP", RedisArgument(key)) == snapshot)
        #expect(try connection.send("EXISTS", RedisArgument("{\(key)}:ledger")).int == 0)
    }

    @Test(arguments: [
        (["--stock", "-1"], "stock must be 0 or more"),
        (["--workers", "0"], "workers must be at least 1"),
        (["--quantity", "0"], "quantity must be at least 1"),
        (["--quantity", "3-1"], "runs backwards"),
        (["--strategy", "optimistic"], "optimistic"),
        (["--orders", "0"], "orders must be at least 1"),
        (["--backoff", "sometimes"], "unknown backoff"),
        (["--backoff-wait", "nap"], "--backoff-wait takes yield or sleep, not 'nap'"),
        (["--watch-ahead", "--skus", "4", "--stock", "10"], "--watch-ahead needs one stock key"),
        (["--watch-ahead", "--rate", "100", "--orders", "10"], "--watch-ahead is for a closed loop"),
        (["--workers", "many"], "many"),
    ])
    func badFlagsAreUsageErrors(arguments: [String], message: String) throws {
        try expectRefusal(arguments, status: 64, mentioning: [message], key: SharedRedis.uniqueKey())
    }

    @Test func unreachableRedisIsAnsweredWithinTheConnectTimeout() throws {
        let port = RedisServerPort.free()
        let result = try StocksimCLI.run([
            "run", "--redis", "redis://127.0.0.1:\(port)", "--connect-timeout", "1000", "--quiet",
        ])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("cannot connect to 127.0.0.1:\(port)"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.seconds < 5)
    }

    @Test func malformedURL() throws {
        let result = try StocksimCLI.run(["run", "--redis", "redis://localhost:notaport", "--quiet"])
        #expect(result.exitCode == 64)
        #expect(result.stderr.contains("port 'notaport'"))
    }

    @Test func keepStockOnAMissingKey() throws {
        try expectRefusal(
            ["--keep-stock"], status: 2, mentioning: ["does not exist", "--stock N"], key: SharedRedis.uniqueKey())
    }

    @Test func keepStockOnANonInteger() throws {
        let key = SharedRedis.uniqueKey()
        try redis.connection().send("SET", RedisArgument(key), "lots")
        try expectRefusal(["--keep-stock"], status: 2, mentioning: ["not a whole number"], key: key)
    }

    @Test func keepStockOnTheWrongType() throws {
        let key = SharedRedis.uniqueKey()
        try redis.connection().send("RPUSH", RedisArgument(key), "a", "b")
        try expectRefusal(["--keep-stock"], status: 2, mentioning: ["holds a list"], key: key)
    }

    @Test func stockOnAKeyOfTheWrongTypeIsNotOverwritten() throws {
        let key = SharedRedis.uniqueKey()
        try redis.connection().send("HSET", RedisArgument(key), "f", "v")
        try expectRefusal(["--stock", "10"], status: 2, mentioning: ["holds a hash"], key: key)
    }
}

enum RedisServerPort {
    static func free() -> Int { RedisServer.freeLoopbackPort() }
}
