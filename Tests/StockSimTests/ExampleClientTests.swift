import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import StockSim
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The examples/ directory against a private redis-server: the two redis-py clients driven through protocol v1 by
/// hand (the start barrier, orders on stdin, outcomes on stdout), and sale.lua called as contract v1 says.
@Suite("examples", .serialized)
struct ExampleClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A Python that can `import redis`: scripts/test.sh's ($STOCKSIM_TEST_PYTHON), the venv it makes, or python3.
    static let python: String? = {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [
            environment["STOCKSIM_TEST_PYTHON"], root + "/.venv-test/bin/python", root + "/.venv-benchmark/bin/python",
            ChildProcess.which("python3"),
        ]
        for case let candidate? in candidates where !candidate.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: candidate) else { continue }
            let probe = try? ChildProcess.spawn(
                candidate, arguments: ["-c", "import redis"], stdout: .devNull, stderr: .devNull, processGroup: nil)
            if probe?.wait(timeout: .seconds(20)) == .exited(0) { return candidate }
        }
        return nil
    }()

    static var pythonWithRedis: Bool { python != nil }

    @Test(
        "the correct client sells once and refuses the loser of a race",
        .enabled(
            if: pythonWithRedis,
            "needs python3 with the redis package (scripts/test.sh installs it into .venv-test/; or pip install redis)")
    )
    func watchClientSellsOnce() throws {
        let redis = try SharedRedis()
        let connection = try redis.connection()
        let key = SharedRedis.uniqueKey()
        let ledger = "{\(key)}:ledger"
        let run = "{\(key)}:run"
        _ = try connection.send("SET", RedisArgument(key), 1)

        let first = try ExampleClient("python_watch_client.py", redis: redis, keys: [key], worker: 0)
        let second = try ExampleClient("python_watch_client.py", redis: redis, keys: [key], worker: 1)
        #expect(try first.readReply() == .ready)
        #expect(try second.readReply() == .ready)
        // Writes wait, reads go on: both clients read 1 before either can commit.
        _ = try connection.send("CLIENT", "PAUSE", 1500, "WRITE")
        let units = [OrderLine(key: key, units: 1)]
        try first.send(ClientOrder(order: "R:0:1", units: units, ledger: ledger, run: run))
        try second.send(ClientOrder(order: "R:1:1", units: units, ledger: ledger, run: run))
        let replies = [try first.readReply(), try second.readReply()]
        #expect(
            replies.contains(.sold(order: "R:0:1", stockLeft: [0]))
                || replies.contains(.sold(order: "R:1:1", stockLeft: [0])))
        #expect(
            replies.contains(.refused(order: "R:0:1", stockLeft: [0]))
                || replies.contains(.refused(order: "R:1:1", stockLeft: [0])))
        #expect(try connection.send("GET", RedisArgument(key)).int == 0)
        #expect(try connection.send("HLEN", RedisArgument(ledger)).int == 1)
        #expect(try connection.send("HGET", RedisArgument(run), "ledger_writes").int == 1)
        #expect(try Self.witness(replies, initial: 1, final: 0, key: key).passed)

        // A cart over two keys, all or none, recorded per key.
        let other = SharedRedis.uniqueKey()
        _ = try connection.send("MSET", RedisArgument(key), 5, RedisArgument(other), 1)
        let cart = [OrderLine(key: key, units: 2), OrderLine(key: other, units: 1)]
        try first.send(ClientOrder(order: "R:0:2", units: cart, ledger: ledger, run: run))
        #expect(try first.readReply() == .sold(order: "R:0:2", stockLeft: [3, 0]))
        try first.send(ClientOrder(order: "R:0:3", units: cart, ledger: ledger, run: run))
        #expect(try first.readReply() == .refused(order: "R:0:3", stockLeft: [3, 0]))
        #expect(try connection.send("HGET", RedisArgument(ledger), RedisArgument("R:0:2|\(other)")).string == "1/2")
        #expect(try connection.send("GET", RedisArgument(key)).int == 3)
        #expect(first.finish() == .exited(0), "\(first.stderr)")
        #expect(second.finish() == .exited(0), "\(second.stderr)")
    }

    @Test(
        "the broken client oversells the same race, and the witness names it",
        .enabled(
            if: pythonWithRedis,
            "needs python3 with the redis package (scripts/test.sh installs it into .venv-test/; or pip install redis)")
    )
    func brokenClientOversells() throws {
        let redis = try SharedRedis()
        let connection = try redis.connection()
        let key = SharedRedis.uniqueKey()
        _ = try connection.send("SET", RedisArgument(key), 1)
        let first = try ExampleClient("python_broken_client.py", redis: redis, keys: [key], worker: 0)
        let second = try ExampleClient("python_broken_client.py", redis: redis, keys: [key], worker: 1)
        #expect(try first.readReply() == .ready)
        #expect(try second.readReply() == .ready)
        _ = try connection.send("CLIENT", "PAUSE", 1500, "WRITE")
        let units = [OrderLine(key: key, units: 1)]
        try first.send(ClientOrder(order: "R:0:1", units: units))
        try second.send(ClientOrder(order: "R:1:1", units: units))
        let replies = [try first.readReply(), try second.readReply()]
        let left = replies.compactMap { reply -> Int64? in
            if case .sold(_, let stockLeft) = reply { return stockLeft.first ?? nil }
            return nil
        }
        #expect(left.sorted() == [-1, 0], "\(replies)")
        #expect(try connection.send("GET", RedisArgument(key)).int == -1)
        let result = try Self.witness(replies, initial: 1, final: -1, key: key)
        #expect(result.violations.map(\.kind) == [.oversell])
        #expect(first.finish() == .exited(0), "\(first.stderr)")
        #expect(second.finish() == .exited(0), "\(second.stderr)")
    }

    @Test func saleScriptFollowsContractOne() throws {
        let redis = try SharedRedis()
        let connection = try redis.connection()
        let source = try String(contentsOfFile: Self.root + "/examples/sale.lua", encoding: .utf8)
        #expect(source.hasPrefix("#!lua\n"))
        let sha = try #require(try connection.send("SCRIPT", "LOAD", RedisArgument(source)).string)
        let a = SharedRedis.uniqueKey()
        let b = SharedRedis.uniqueKey()
        let ledger = "{\(a)}:ledger"
        let run = "{\(a)}:run"
        _ = try connection.send("MSET", RedisArgument(a), 10, RedisArgument(b), 1)

        func call(_ keys: [String], _ arguments: [String]) throws -> RedisReply {
            let command = ["EVALSHA", sha, "\(keys.count)"] + keys + arguments
            return try connection.send(RedisCommand(command.map { RedisArgument($0) }))
        }
        func state() throws -> [Int64?] {
            [
                try connection.send("GET", RedisArgument(a)).int, try connection.send("GET", RedisArgument(b)).int,
                try connection.send("HLEN", RedisArgument(ledger)).int,
                try connection.send("HGET", RedisArgument(run), "ledger_writes").int,
            ]
        }

        // With the ledger: KEYS a ledger run, ARGV units order.
        #expect(try SaleScriptReply(call([a, ledger, run], ["3", "R:0:1"]), keys: 1) == .sold(stockLeft: [7]))
        #expect(try connection.send("HGET", RedisArgument(ledger), RedisArgument("R:0:1|\(a)")).string == "3/1")
        #expect(try SaleScriptReply(call([a, ledger, run], ["3", "R:0:1"]), keys: 1) == .recorded)
        #expect(try SaleScriptReply(call([a, ledger, run], ["8", "R:0:2"]), keys: 1) == .refused(stockLeft: [7]))
        #expect(try state() == [7, 1, 1, 1])
        // A cart that falls short on its second key takes nothing from its first.
        #expect(
            try SaleScriptReply(call([a, b, ledger, run], ["2", "2", "R:0:3"]), keys: 2) == .refused(stockLeft: [7, 1]))
        #expect(try state() == [7, 1, 1, 1])
        #expect(
            try SaleScriptReply(call([a, b, ledger, run], ["2", "1", "R:0:4"]), keys: 2) == .sold(stockLeft: [5, 0]))
        #expect(try state() == [5, 0, 3, 3])
        // Without the ledger: KEYS a, ARGV units order; nothing recorded.
        #expect(try SaleScriptReply(call([a], ["5", "R:0:5"]), keys: 1) == .sold(stockLeft: [0]))
        #expect(try state() == [0, 0, 3, 3])
        // Bad arguments are an error reply, outside the contract's replies, and write nothing.
        let bad = try #require(throws: RedisError.self) { try call([a], ["0", "R:0:6"]) }
        #expect(bad.message.contains("ARGS units for \(a) must be a positive integer"), "\(bad)")
        #expect(throws: ClientProtocolError.self) { try SaleScriptReply(.integer(7), keys: 1) }
        #expect(throws: ClientProtocolError.self) { try SaleScriptReply(.array([.bulk(Array("sold".utf8))]), keys: 1) }
        #expect(try state() == [0, 0, 3, 3])
    }

    /// The witness over one round of replies to single-unit orders on `key`.
    static func witness(_ replies: [ClientReply], initial: Int64, final: Int64, key: String) throws -> WitnessResult {
        var witness = Witness()
        witness.setInitial(initial, for: key)
        witness.setFinal(final, for: key)
        for reply in replies {
            if case .sold(let order, let stockLeft) = reply {
                witness.recordSale(
                    order: order, worker: 0, lines: [OrderLine(key: key, units: 1)], stockLeft: stockLeft)
            }
        }
        return witness.check()
    }
}

/// An example client running under protocol v1: its stdin and stdout are pipes held by the test.
final class ExampleClient {
    let child: ChildProcess
    private var input: Int32
    private let output: Int32
    private var buffered: [UInt8] = []
    private let directory: TemporaryDirectory

    init(_ script: String, redis: SharedRedis, keys: [String], worker: Int) throws {
        signal(SIGPIPE, SIG_IGN)
        let python = try #require(ExampleClientTests.python)
        directory = try TemporaryDirectory(prefix: "stocksim-example")
        let stdin = try PipeDescriptors()
        let stdout = try PipeDescriptors()
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in ClientProtocol.environment(
            redisURL: redis.url, keys: keys, ledgerKey: nil, runKey: nil, worker: worker)
        {
            environment[name] = value
        }
        defer {
            Glibc.close(stdin.readEnd)
            Glibc.close(stdout.writeEnd)
        }
        child = try ChildProcess.spawn(
            python, arguments: [ExampleClientTests.root + "/examples/" + script],
            environment: environment.map { "\($0)=\($1)" }, stdin: .descriptor(stdin.readEnd),
            stdout: .descriptor(stdout.writeEnd), stderr: .file(directory.path + "/stderr"), processGroup: nil)
        input = stdin.writeEnd
        output = stdout.readEnd
    }

    deinit {
        if input >= 0 { Glibc.close(input) }
        Glibc.close(output)
        child.signal(SIGKILL)
        _ = child.wait(timeout: .seconds(5))
    }

    var stderr: String { TextFile.read(directory.path + "/stderr") }

    func send(_ order: ClientOrder) throws {
        let bytes = Array(try order.line().utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(input, $0.baseAddress, $0.count) }
        #expect(written == bytes.count, "writing to the client failed: \(stderr)")
    }

    /// The next stdout line, decoded; fails after `timeout`.
    func readReply(timeout: Duration = .seconds(20)) throws -> ClientReply {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeFirst(newline + 1)
                return try ClientReply(line: line)
            }
            let left = deadline - clock.now
            guard left > .zero else { throw ClientProtocolError("no line from the client in \(timeout): \(stderr)") }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(left / .milliseconds(1)) + 1)
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { Glibc.read(output, $0.baseAddress, $0.count) }
            guard count > 0 else { throw ClientProtocolError("the client closed its stdout: \(stderr)") }
            buffered.append(contentsOf: chunk[..<count])
        }
    }

    /// Closes its stdin (the protocol's stop) and waits for it to exit.
    func finish() -> ChildProcess.Termination {
        Glibc.close(input)
        input = -1
        return child.wait(timeout: .seconds(20))
    }
}
