import Foundation
import StockSim
import Testing

/// Worker lists and ranges, strategy lists, and the sweep's checks on its own numbers.
@Suite("sweep input")
struct SweepInputTests {
    @Test(arguments: [
        ("8", [8]),
        ("1,2,4", [1, 2, 4]),
        ("1-4", [1, 2, 3, 4]),
        ("1-64x2", [1, 2, 4, 8, 16, 32, 64]),
        ("1-10x3", [1, 3, 9]),
        ("3-3", [3]),
        ("4,1,2,2", [1, 2, 4]),
        (" 1, 2 ,4 ", [1, 2, 4]),
        ("1,8-32x2,64", [1, 8, 16, 32, 64]),
        ("2-3,3-4", [2, 3, 4]),
    ])
    func workerCountsParse(text: String, counts: [Int]) throws {
        #expect(try SweepConfiguration.workerCounts(parsing: text) == counts)
    }

    @Test(arguments: [
        ("0,4", "worker counts must be at least 1, not 0"),
        ("-2", "worker counts must be at least 1, not -2"),
        ("0-4", "worker counts must be at least 1, not 0"),
        ("2000", "worker counts must be at most 1024"),
        ("1-2000x2", "worker counts must be at most 1024"),
        ("1-x", "workers '1-x' is not a count or a range"),
        ("1-4x", "workers '1-4x' is not a count or a range"),
        ("many", "workers 'many' is not a count or a range"),
        ("1-2-3", "workers '1-2-3' is not a count or a range"),
        ("4-1", "worker range '4-1' runs backwards; write the smaller number first, as 1-4"),
        ("1-64x1", "worker range '1-64x1' needs a factor of at least 2"),
        ("1-64x0", "needs a factor of at least 2"),
        ("", "no worker counts given"),
        ("1,,2", "has an empty item"),
    ])
    func badWorkerCountsAreRefusedWithAMessage(text: String, message: String) {
        #expect {
            try SweepConfiguration.workerCounts(parsing: text)
        } throws: { error in
            (error as? ConfigurationError)?.message.contains(message) == true
        }
    }

    @Test func malformedRangesSayWhatIsAccepted() {
        #expect {
            try SweepConfiguration.workerCounts(parsing: "1-x")
        } throws: { error in
            let message = (error as? ConfigurationError)?.message ?? ""
            return message.contains("1-64x2") && message.contains("1,2,4") && !message.contains("\n")
        }
    }

    @Test func strategiesParseInOrderOnce() throws {
        #expect(try SweepConfiguration.strategies(parsing: "watch,lua,decr") == [.watch, .lua, .decr])
        #expect(try SweepConfiguration.strategies(parsing: "lua, watch,lua") == [.lua, .watch])
        #expect(try SweepConfiguration.strategies(parsing: "unsafe") == [.unsafe])
        #expect {
            try SweepConfiguration.strategies(parsing: "watch,optimistic")
        } throws: { error in
            (error as? ConfigurationError)?.message
                == "unknown strategy 'optimistic'; use watch, lua, decr, unsafe, comma-separated"
        }
        #expect(throws: ConfigurationError.self) { try SweepConfiguration.strategies(parsing: "watch,") }
    }

    @Test func configurationChecks() {
        let base = SimulationConfiguration(initialStock: 100)
        func message(_ configuration: SweepConfiguration) -> String? {
            do {
                try configuration.validate()
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message(SweepConfiguration(workerCounts: [1, 2], strategies: [.lua], repeats: 1, base: base)) == nil)
        #expect(
            message(SweepConfiguration(workerCounts: [1], strategies: [.lua], repeats: 0, base: base))?
                .contains("repeat must be at least 1, not 0") == true)
        #expect(
            message(SweepConfiguration(workerCounts: [], strategies: [.lua], base: base))?
                .contains("at least one worker count") == true)
        #expect(
            message(SweepConfiguration(workerCounts: [1], strategies: [], base: base))?
                .contains("at least one strategy") == true)
        #expect(
            message(SweepConfiguration(workerCounts: [0], strategies: [.lua], base: base))?
                .contains("at least 1, not 0") == true)
        #expect(
            message(
                SweepConfiguration(
                    workerCounts: [1], strategies: [.lua], base: SimulationConfiguration(initialStock: nil)))?
                .contains("--stock N") == true)
        #expect(
            message(
                SweepConfiguration(
                    workerCounts: [1], strategies: [.lua], base: SimulationConfiguration(initialStock: -1)))?
                .contains("stock must be 0 or more") == true)
    }

    @Test func runsGoInRoundsOverEveryPoint() {
        let sweep = Sweep(
            configuration: SweepConfiguration(workerCounts: [1, 4], strategies: [.watch, .lua], repeats: 2),
            workerExecutable: StocksimCLI.executable)
        let steps = sweep.steps
        #expect(steps.count == 8)
        #expect(steps.map(\.index) == Array(1...8))
        #expect(steps.allSatisfy { $0.count == 8 && $0.repeats == 2 })
        #expect(
            steps.prefix(4).map { "\($0.strategy)/\($0.workers)/\($0.repetition)" } == [
                "watch/1/1", "watch/4/1", "lua/1/1", "lua/4/1",
            ])
        #expect(steps.suffix(4).allSatisfy { $0.repetition == 2 })
    }
}

/// Bad input through the built binary: one line on stderr that names the problem and the help to read, exit 64,
/// nothing on stdout, and no redis-server started.
@Suite("stocksim sweep bad input")
struct SweepBadInputTests {
    @Test(arguments: [
        (["--workers", "0,4"], "worker counts must be at least 1, not 0"),
        (["--repeat", "0"], "repeat must be at least 1, not 0"),
        (["--workers", "1-x"], "workers '1-x' is not a count or a range"),
        (["--workers", "4-1"], "runs backwards"),
        (["--workers", "1-64x1"], "needs a factor of at least 2"),
        (["--strategy", "watch,optimistic"], "unknown strategy 'optimistic'"),
        (["--stock", "-1"], "stock must be 0 or more"),
        (["--quantity", "3-1"], "runs backwards"),
        (["--backoff", "sometimes"], "unknown backoff"),
        (["--repeat", "many"], "'many'"),
        (["--csv", "/nonexistent-stocksim-dir/sweep.csv"], "the directory /nonexistent-stocksim-dir does not exist"),
        (["--svg", "/nonexistent-stocksim-dir/sweep.svg"], "--svg"),
    ])
    func refused(arguments: [String], message: String) throws {
        let result = try StocksimCLI.run(["sweep", "--quiet"] + arguments)
        defer { try? FileManager.default.removeItem(atPath: result.tmpdir) }
        #expect(result.exitCode == 64, "stderr: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "expected one line, got: \(result.stderr)")
        #expect(result.stderr.hasPrefix("stocksim: "))
        #expect(result.stderr.contains(message), "'\(message)' not in: \(result.stderr)")
        #expect(result.stderr.contains("see 'stocksim sweep --help'"))
        #expect(result.stdout.isEmpty)
        // Refused before anything started: no redis-server ever made a temp dir.
        #expect(try FileManager.default.contentsOfDirectory(atPath: result.tmpdir).isEmpty)
        #expect(result.seconds < 5)
    }

    @Test func unreachableRedisIsExitTwo() throws {
        let port = RedisServerPort.free()
        let result = try StocksimCLI.run([
            "sweep", "--redis", "redis://127.0.0.1:\(port)", "--connect-timeout", "500", "--workers", "1", "--quiet",
        ])
        #expect(result.exitCode == 2, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("cannot connect to 127.0.0.1:\(port)"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stdout.isEmpty)
    }
}
