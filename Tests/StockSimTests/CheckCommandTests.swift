import Foundation
import StockSim
import Testing

/// `stocksim check FILE` end to end: the built binary on hand-written histories.
@Suite("stocksim check")
struct CheckCommandTests {
    /// One order of `units` from `key`: an invoke and its completion.
    static func order(
        _ id: String, worker: Int, units: Int = 1, key: String = "stock:count", completion: String
    ) -> String {
        let lines = #"[{"key":"\#(key)","units":\#(units)}]"#
        return #"{"type":"invoke","worker":\#(worker),"order":"\#(id)","units":\#(lines),"time_ns":1}"# + "\n"
            + #"{"type":\#(completion),"worker":\#(worker),"order":"\#(id)","time_ns":2}"# + "\n"
    }

    static let header = #"{"type":"header","version":1,"initial":{"stock:count":10}}"# + "\n"

    /// Two buyers both told "9 left" from 10, and a write from outside that balances the totals at 8.
    static let lostUpdate =
        header
        + order("R:0:1", worker: 0, completion: #""ok","stock_left":[9]"#)
        + order("R:1:1", worker: 1, completion: #""ok","stock_left":[9]"#)
        + order("R:1:2", worker: 1, units: 9, completion: #""fail","reason":"out-of-stock""#)
        + #"{"type":"end","final":{"stock:count":8}}"# + "\n"

    static let clean =
        header
        + order("R:0:1", worker: 0, units: 2, completion: #""ok","stock_left":[8]"#)
        + order("R:1:1", worker: 1, units: 3, completion: #""info","error":"connection lost""#)
        + order("R:1:2", worker: 1, completion: #""ok","stock_left":[4]"#)
        + #"{"type":"end","final":{"stock:count":4}}"# + "\n"

    @Test func aKnownViolationExitsOneAndIsNamed() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("lost-update.jsonl", Self.lostUpdate)
        let result = try StocksimCLI.run(["check", file])
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stdout.contains("3 invoked: 2 ok, 1 fail, 0 info"), "\(result.stdout)")
        #expect(result.stdout.contains("FAILED: 2 violations"), "\(result.stdout)")
        #expect(
            result.stdout.contains(
                "stale-read on stock:count: R:1:1 (worker 1, 1 unit, left 9) sold from a stock of 10, but R:0:1 (worker 0, 1 unit, left 9)"
            ), "\(result.stdout)")
        #expect(result.stdout.contains("chain-end on stock:count"), "\(result.stdout)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")

        let json = try StocksimCLI.run(["check", file, "--json"])
        #expect(json.exitCode == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["passed"] as? Bool == false)
        #expect(object["violation_count"] as? Int == 2)
        let violations = try #require(object["violations"] as? [[String: Any]])
        #expect(violations.first?["kind"] as? String == "stale-read")
        let earlier = try #require(violations.first?["earlier"] as? [String: Any])
        #expect(earlier["order"] as? String == "R:0:1")
        #expect(earlier["stock_left"] as? Int == 9)
        let counts = try #require(object["counts"] as? [String: Any])
        #expect(counts["invoked"] as? Int == 3)
    }

    @Test func theExampleHistoryInTheReadmeFails() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let result = try StocksimCLI.run(["check", root + "/examples/lost-update.jsonl"])
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("stale-read on stock:count"), "\(result.stdout)")
    }

    @Test func aCleanHistoryExitsZero() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("clean.jsonl", Self.clean)
        let result = try StocksimCLI.run(["check", file])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("chain checked from 10 to 4; 1 unknown-outcome order, 1 filling gaps"))
        #expect(result.stdout.contains("witness     PASSED"))
    }

    @Test func flagsOverrideTheHistorysStock() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("clean.jsonl", Self.clean)
        let wrongInitial = try StocksimCLI.run(["check", file, "--initial", "stock:count=11"])
        #expect(wrongInitial.exitCode == 1)
        #expect(wrongInitial.stdout.contains("chain-start"), "\(wrongInitial.stdout)")
        let wrongFinal = try StocksimCLI.run(["check", file, "--final", "3"])
        #expect(wrongFinal.exitCode == 1)
        #expect(wrongFinal.stdout.contains("chain-end"), "\(wrongFinal.stdout)")
    }

    @Test func aMalformedHistoryExitsSixtyFiveNamingTheLine() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("bad.jsonl", Self.clean + #"{"type":"ok","worker":0"# + "\n")
        let result = try StocksimCLI.run(["check", file])
        #expect(result.exitCode == 65)
        #expect(result.stderr == "stocksim: \(file):9: not a JSON object: {\"type\":\"ok\",\"worker\":0\n")
        #expect(result.stdout.isEmpty)

        let unopened = try directory.write(
            "unopened.jsonl",
            Self.header + Self.order("R:0:1", worker: 0, completion: #""ok""#).split(separator: "\n")[1] + "\n")
        let order = try StocksimCLI.run(["check", unopened])
        #expect(order.exitCode == 65)
        #expect(order.stderr.contains("\(unopened):2: \"ok\" for order R:0:1, which is not open"), "\(order.stderr)")
    }

    @Test func aMissingFileExitsSixtySix() throws {
        let result = try StocksimCLI.run(["check", "/nonexistent/history.jsonl"])
        #expect(result.exitCode == 66)
        #expect(result.stderr.contains("cannot open the history file /nonexistent/history.jsonl"), "\(result.stderr)")
    }

    @Test func badFlagsAndAMissingInitialStockExitSixtyFour() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("clean.jsonl", Self.clean)
        let bad = try StocksimCLI.run(["check", file, "--initial", "lots"])
        #expect(bad.exitCode == 64)
        #expect(bad.stderr.contains("--initial 'lots' is neither a stock N nor KEY=N (see 'stocksim check --help')"))
        let headless = try directory.write(
            "headless.jsonl", Self.order("R:0:1", worker: 0, completion: #""ok","stock_left":[9]"#))
        let missing = try StocksimCLI.run(["check", headless])
        #expect(missing.exitCode == 64)
        #expect(missing.stderr.contains("no initial stock for 'stock:count'"), "\(missing.stderr)")
        let given = try StocksimCLI.run(["check", headless, "--initial", "10"])
        #expect(given.exitCode == 0, "\(given.stdout)\(given.stderr)")
    }
}
