import EmbeddedRedis
import Foundation
import Hiredis
import StockSim
import Testing

/// A value at the ledger's or run hash's key that StockSim did not write is refused, never deleted; an earlier
/// StockSim run's ledger is replaced.
@Suite("ledger ownership", .serialized)
struct LedgerOwnershipTests {
    let redis: SharedRedis

    init() throws { redis = try SharedRedis() }

    func run(_ key: String, _ extra: [String] = []) throws -> StocksimCLI.Result {
        try StocksimCLI.run(
            ["run", "--redis", redis.url, "--key", key, "--stock", "20", "--workers", "1", "--quiet"] + extra)
    }

    @Test(arguments: [
        ("ledger", "SET", "holds a string"),
        ("ledger", "HSET", "is a hash with no run hash"),
        ("run", "RPUSH", "holds a list"),
        ("run", "HSET", "is a hash without run_id and ledger_writes"),
    ])
    func somethingElseAtTheLedgerOrRunKeyIsRefusedAndKept(which: String, write: String, words: String) throws {
        let admin = try redis.connection()
        let key = SharedRedis.uniqueKey("ownership")
        let target = "{\(key)}:\(which)"
        switch write {
        case "SET": try admin.send("SET", RedisArgument(target), "precious")
        case "RPUSH": try admin.send("RPUSH", RedisArgument(target), "precious")
        default: try admin.send("HSET", RedisArgument(target), "precious", "1")
        }
        let before = try admin.send("DUMP", RedisArgument(target))
        let result = try run(key)
        #expect(result.exitCode == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("'\(target)' \(words)"), "\(result.stderr)")
        #expect(result.stderr.contains("never deletes data it did not write"), "\(result.stderr)")
        #expect(try admin.send("DUMP", RedisArgument(target)) == before, "the user's value was changed")
        #expect(try admin.send("EXISTS", RedisArgument(key)).int == 0, "the stock was set")
    }

    @Test(arguments: [[], ["--strategy", "lua", "--skus", "4", "--groups", "2"]])
    func anEarlierRunsLedgerIsReplaced(extra: [String]) throws {
        let key = SharedRedis.uniqueKey("again")
        let first = try run(key, extra)
        #expect(first.exitCode == 0, "\(first.stderr)")
        let second = try run(key, extra)
        #expect(second.exitCode == 0, "\(second.stderr)")
    }
}
