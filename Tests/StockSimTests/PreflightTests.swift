import EmbeddedRedis
import Foundation
import Hiredis
import StockSim
import Testing

/// The check before a run writes nothing, on any path, whatever the server renames, disables or forbids; and the
/// line it prints names the right command.
@Suite("preflight writes nothing", .serialized)
struct PreflightTests {
    /// A stock key holding 55 with a ledger and run hash of an earlier run, as a user's server would have them.
    struct Keys {
        let stock: String
        var all: [String] { [stock, "{\(stock)}:ledger", "{\(stock)}:run"] }

        init(on admin: RedisConnection) throws {
            stock = SharedRedis.uniqueKey("stock")
            try admin.send("SET", RedisArgument(stock), 55)
            try admin.send("HSET", RedisArgument("{\(stock)}:ledger"), "earlier-order", 3)
            try admin.send("HSET", RedisArgument("{\(stock)}:run"), "run_id", "earlier", "ledger_writes", 1)
        }

        /// DUMP of every key (nil for a missing one) and the number of keys.
        func snapshot(_ admin: RedisConnection) throws -> [RedisReply] {
            try all.map { try admin.send("DUMP", RedisArgument($0)) } + [admin.send("DBSIZE")]
        }
    }

    /// Runs `strategy` against `url`, expects exit 2 with one line holding `words`, and the keys byte for byte as
    /// they were.
    func expectRefusedUnchanged(
        _ server: RedisServer, url: String, strategy: String, mentioning words: [String], extra: [String] = []
    ) throws {
        let admin = try RedisConnection(endpoint: server.endpoint)
        let keys = try Keys(on: admin)
        let before = try keys.snapshot(admin)
        let result = try StocksimCLI.run(
            [
                "run", "--redis", url, "--key", keys.stock, "--stock", "100", "--workers", "1", "--strategy",
                strategy, "--quiet",
            ] + extra)
        #expect(result.exitCode == 2, "\(strategy): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(strategy): \(result.stderr)")
        for word in words { #expect(result.stderr.contains(word), "\(strategy): '\(word)' not in \(result.stderr)") }
        #expect(try keys.snapshot(admin) == before, "\(strategy) changed the user's keys: \(result.stderr)")
    }

    @Test func renamedMultiRefusesWatchByNameAndTheOthersNeedNoMulti() throws {
        let server = try RedisServer(.init(extraConfiguration: ["rename-command MULTI \"\""]))
        try expectRefusedUnchanged(
            server, url: server.url, strategy: "watch",
            mentioning: ["no MULTI command", "the watch strategy needs WATCH, GET, MULTI, DECRBY, EXEC"])
        try expectRefusedUnchanged(
            server, url: server.url, strategy: "watch", mentioning: ["no MULTI command"], extra: ["--keep-stock"])
        for strategy in ["lua", "decr", "unsafe"] {
            let result = try StocksimCLI.run([
                "run", "--redis", server.url, "--key", SharedRedis.uniqueKey(strategy), "--stock", "50", "--workers",
                "1", "--strategy", strategy, "--quiet",
            ])
            #expect(result.exitCode == 0, "\(strategy) does not need MULTI: \(result.stderr)")
        }
    }

    @Test(arguments: ["watch", "lua", "decr", "unsafe"])
    func aRenamedCommandIsNamedAndNothingIsWritten(strategy: String) throws {
        let server = try RedisServer(
            .init(extraConfiguration: ["rename-command MULTI \"\"", "rename-command HINCRBY renamed-hincrby"]))
        try expectRefusedUnchanged(
            server, url: server.url, strategy: strategy,
            mentioning: ["no \(strategy == "watch" ? "MULTI, HINCRBY" : "HINCRBY") command", "strategy needs"])
    }

    @Test func aUserWithoutHincrbyIsRefusedBeforeTheScriptRuns() throws {
        let server = try RedisServer(
            .init(password: "admin", users: [.init(name: "clerk", password: "pw", rules: "~* &* +@all -hincrby")]))
        let port = try #require(server.port)
        for strategy in ["lua", "watch", "decr"] {
            try expectRefusedUnchanged(
                server, url: "redis://clerk:pw@127.0.0.1:\(port)", strategy: strategy,
                mentioning: ["'clerk' may not run HINCRBY", "ACL SETUSER clerk +hincrby"])
        }
    }

    @Test func withoutAclDryrunTheCommandsAreQueuedAfterAnAcceptedMulti() throws {
        // The user may not run ACL (so no DRYRUN, no WHOAMI) nor COMMAND: the check queues in a discarded MULTI.
        let server = try RedisServer(
            .init(
                password: "admin",
                users: [.init(name: "clerk", password: "pw", rules: "~* &* +@all -acl -command -info -hincrby")]))
        let port = try #require(server.port)
        try expectRefusedUnchanged(
            server, url: "redis://clerk:pw@127.0.0.1:\(port)", strategy: "lua",
            mentioning: ["'clerk' may not run HINCRBY"])
        // A user without MULTI either is never sent the commands outside a transaction; watch needs MULTI.
        let bare = try RedisServer(
            .init(
                password: "admin",
                users: [.init(name: "clerk", password: "pw", rules: "~* &* +@all -acl -multi -evalsha")]))
        let barePort = try #require(bare.port)
        try expectRefusedUnchanged(
            bare, url: "redis://clerk:pw@127.0.0.1:\(barePort)", strategy: "watch",
            mentioning: ["'clerk' may not run MULTI"])
    }
}
