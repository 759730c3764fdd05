import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import Testing

@testable import StockSim

/// Raw server refusals and OS limits reach the user as one line that says what is wrong and what to do.
@Suite("messages say what to do", .serialized)
struct AdviceTests {
    func expectOneLine(_ result: StocksimCLI.Result, status: Int32, mentioning words: [String]) {
        #expect(result.exitCode == status, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        for word in words { #expect(result.stderr.contains(word), "'\(word)' not in \(result.stderr)") }
    }

    @Test func aReplicaIsReadOnly() throws {
        let primary = try RedisServer()
        let replica = try RedisServer()
        let primaryPort = try #require(primary.port)
        try RedisConnection(endpoint: replica.endpoint).send("REPLICAOF", "127.0.0.1", RedisArgument(primaryPort))
        let result = try StocksimCLI.run(["run", "--redis", replica.url, "--stock", "100", "--quiet"])
        expectOneLine(result, status: 2, mentioning: ["read-only replica", "point --redis at its primary"])
        #expect(try RedisConnection(endpoint: primary.endpoint).send("DBSIZE").int == 0)
    }

    /// A cluster-mode node is run as a cluster; one that serves no slots is refused with what to do.
    @Test func aClusterNodeWithoutSlotsIsRefusedUpFront() throws {
        // The cluster bus listens 10000 above the port, so a free port above 55535 makes the node exit: try again.
        var started: RedisServer?
        for _ in 0..<20 where started == nil {
            started = try? RedisServer(.init(extraConfiguration: ["cluster-enabled yes"]))
        }
        let node = try #require(started, "no cluster-enabled redis-server started")
        let result = try StocksimCLI.run(["run", "--redis", node.url, "--stock", "100", "--quiet"])
        expectOneLine(
            result, status: 2, mentioning: ["Redis Cluster mode", "no slots are assigned", "standalone server"])
    }

    @Test func aPasswordWithAtAndSlashMustBePercentEncoded() throws {
        let server = try RedisServer(.init(password: "p@ss/w0rd"))
        let port = try #require(server.port)
        let raw = try StocksimCLI.run([
            "run", "--redis", "redis://:p@ss/w0rd@127.0.0.1:\(port)", "--stock", "10", "--workers", "1", "--quiet",
        ])
        expectOneLine(raw, status: 64, mentioning: ["percent-encode it", "%40", "%2F"])
        let encoded = try StocksimCLI.run([
            "run", "--redis", "redis://:p%40ss%2Fw0rd@127.0.0.1:\(port)", "--stock", "10", "--workers", "1",
            "--quiet",
        ])
        #expect(encoded.exitCode == 0, "\(encoded.stderr)")
    }

    @Test func tooFewFileDescriptorsForTheWorkersIsRefusedWithTheNumberNeeded() throws {
        let files = try TemporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = files.path
        environment.removeValue(forKey: "STOCKSIM_REDIS_URL")
        let err = files.path + "/stderr"
        // ulimit -n in sh lowers the soft and the hard limit: the driver cannot raise it.
        let child = try ChildProcess.spawn(
            "/bin/sh",
            arguments: [
                "-c", "ulimit -n 64 && exec \"$0\" run --stock 100 --workers 40 --quiet", StocksimCLI.executable,
            ],
            environment: environment.map { "\($0)=\($1)" }, stdout: .devNull, stderr: .file(err), processGroup: nil)
        var ended = child.poll()
        while ended == nil {
            Thread.sleep(forTimeInterval: 0.01)
            ended = child.poll()
        }
        let stderr = TextFile.read(err)
        #expect(ended == .exited(2), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1, "\(stderr)")
        #expect(stderr.contains("for 40 workers the driver needs about"), "\(stderr)")
        #expect(stderr.contains("ulimit -n allows 64; raise it (ulimit -n "), "\(stderr)")
        #expect(StocksimCLI.leftovers(tmpdir: files.path).isEmpty)
    }

    @Test(arguments: [
        ("READONLY You can't write against a read only replica.", "point --redis at its primary"),
        ("MOVED 3999 127.0.0.1:6381", "Redis Cluster mode"),
        ("ASK 3999 127.0.0.1:6381", "Redis Cluster mode"),
        ("CROSSSLOT Keys in request don't hash to the same slot", "Redis Cluster mode"),
        ("CLUSTERDOWN The cluster is down", "standalone server"),
        ("ERR unknown command 'DECRBY', with args beginning with: ", "the server has no DECRBY command"),
        ("OOM command not allowed when used memory > 'maxmemory'.", "raise maxmemory"),
        ("MISCONF Redis is configured to save RDB snapshots", "stop-writes-on-bgsave-error"),
        ("LOADING Redis is loading the dataset in memory", "wait until it is done"),
        ("NOPERM this user has no permissions to run the 'decrby' command", "ACL SETUSER clerk +decrby"),
    ])
    func aWorkersRefusalGetsTheSameAdviceAsTheDrivers(line: String, advice: String) throws {
        let configuration = SimulationConfiguration(strategy: .decr)
        let error = RedisError.server(RedisErrorReply(line: line), command: "DECRBY")
        let message = error.advised(for: configuration, user: "clerk")
        #expect(message.contains(advice), "\(message)")
        #expect(!message.contains("\n"))
        // A refusal without advice keeps its message.
        let plain = RedisError.server(RedisErrorReply(line: "WRONGTYPE Operation against a key"), command: "GET")
        #expect(plain.advised(for: configuration, user: nil) == plain.message)
    }
}
