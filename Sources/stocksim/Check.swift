import ArgumentParser
import Foundation
import StockSim

extension Stocksim {
    /// `stocksim check FILE`: the per-sale witness over a history file.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check a history file: do each key's sales form one chain from the initial stock to the final?",
            discussion: """
                Reads a history (one JSON line per order event: invoke, ok, fail, info; see the README, "Checking a \
                history"), pairs each completion with its invoke and checks, per key, that the acknowledged sales \
                ordered by the stock they left form one chain from the initial stock down to the final. The initial \
                and final stock come from the history's header and end lines; --initial and --final override them. \
                Exit status: 0 no violation; 1 a violation found (printed); 64 a bad flag or a key with no initial \
                stock; 65 a malformed history (one line on stderr naming the line); 66 the file is missing or \
                unreadable.
                """)

        static let dataError = ExitCode(65)
        static let noInput = ExitCode(66)

        @Argument(help: ArgumentHelp("The history file, one JSON line per event.", valueName: "file"))
        var file: String

        @Option(
            name: .long,
            help: ArgumentHelp(
                "Initial stock: N for every key, or KEY=N for one; repeat for several keys. Overrides the header.",
                valueName: "stock"))
        var initial: [String] = []

        @Option(
            name: .customLong("final"),
            help: ArgumentHelp(
                "Final stock: N for every key, or KEY=N for one; repeat for several. Overrides the history's.",
                valueName: "stock"))
        var finalStock: [String] = []

        @Flag(name: .long, help: "One JSON document on stdout instead of the summary.")
        var json = false

        @Option(name: .long, help: ArgumentHelp("Violations to list; all are counted.", valueName: "n"))
        var limit = 100

        /// Bad values get their own line, naming this command's help.
        func validate() throws {
            do {
                guard limit >= 1 else { throw ValidationError("--limit must be at least 1, not \(limit)") }
                _ = try Self.parse(initial, flag: "--initial")
                _ = try Self.parse(finalStock, flag: "--final")
            } catch let error as ValidationError {
                Self.fail("\(error.message) (see 'stocksim check --help')")
                throw ExitCode.validationFailure
            }
        }

        func run() throws {
            let initialGiven = try Self.parse(initial, flag: "--initial")
            let finalGiven = try Self.parse(finalStock, flag: "--final")
            let history: HistoryCheck
            do {
                history = try HistoryCheck.read(path: file)
            } catch let error as HistoryError {
                Self.fail(error.message)
                throw error.code == .malformedLine ? Self.dataError : Self.noInput
            }
            let missing = history.keysWithoutInitial(initialGiven)
            guard missing.isEmpty else {
                Self.fail(
                    "no initial stock for \(missing.map { "'\($0)'" }.joined(separator: ", ")): pass --initial N (every key) or --initial KEY=N, or write a header line {\"type\":\"header\",\"version\":1,\"initial\":{…}} (see 'stocksim check --help')"
                )
                throw ExitCode.validationFailure
            }
            let result = history.finish(initial: initialGiven, final: finalGiven, violationLimit: limit)
            if json {
                print(try Self.document(result, file: file))
            } else {
                print(Self.summary(result, file: file))
            }
            if !result.witness.passed { throw ExitCode(1) }
        }

        /// `N` for every key or `KEY=N` for one (split at the last `=`, so keys may hold `=`).
        static func parse(_ values: [String], flag: String) throws -> StockGiven {
            var given = StockGiven()
            for value in values {
                if let number = Int64(value) {
                    given.all = number
                } else if let split = value.lastIndex(of: "="), split != value.startIndex,
                    let number = Int64(value[value.index(after: split)...])
                {
                    given.perKey[String(value[..<split])] = number
                } else {
                    throw ValidationError("\(flag) '\(value)' is neither a stock N nor KEY=N")
                }
            }
            return given
        }

        static func fail(_ message: String) {
            StandardError.write(Data("stocksim: \(message)\n".utf8))
        }

        /// The human summary.
        static func summary(_ result: HistoryCheckResult, file: String) -> String {
            let counts = result.counts
            let witness = result.witness
            var lines = ["StockSim check \(file)"]
            var orders =
                "  orders      \(counts.invoked) invoked: \(counts.ok) ok, \(counts.fail) fail, \(counts.info) info"
            if counts.unfinished > 0 { orders += ", \(counts.unfinished) never completed (judged as info)" }
            lines.append(orders)
            for key in witness.keys {
                var line =
                    "  \(key.key)  \(NumberText.count(key.sales, "sale")), \(NumberText.count(key.units, "unit"))"
                if key.checked {
                    let from = key.initial.map { "from \($0)" } ?? ""
                    let to = key.final.map { " to \($0)" } ?? ""
                    line += ", chain checked \(from)\(to)"
                    if key.unknownOrders > 0 {
                        line +=
                            "; \(NumberText.count(key.unknownOrders, "unknown-outcome order")), \(key.unknownOrdersSold) filling gaps"
                    }
                }
                if let note = key.note { line += " (\(note))" }
                lines.append(line)
            }
            if witness.passed {
                lines.append("  witness     PASSED (every key's sales form one chain)")
            } else {
                let shown = witness.violations.count
                lines.append(
                    "  witness     FAILED: \(NumberText.count(witness.violationCount, "violation"))"
                        + (shown < witness.violationCount ? " (the first \(shown) listed)" : ""))
                for violation in witness.violations { lines.append("    \(violation)") }
            }
            return lines.joined(separator: "\n")
        }

        /// The `--json` document: `schema_version`, `file`, `passed`, `counts`, `keys`, `violations`,
        /// `violation_count`, in snake_case.
        static func document(_ result: HistoryCheckResult, file: String) throws -> String {
            struct Document: Encodable {
                var schemaVersion = 1
                var file: String
                var passed: Bool
                var counts: HistoryCheck.Counts
                var keys: [WitnessKeyResult]
                var violations: [WitnessViolation]
                var violationCount: Int
            }
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let document = Document(
                file: file, passed: result.witness.passed, counts: result.counts, keys: result.witness.keys,
                violations: result.witness.violations, violationCount: result.witness.violationCount)
            return String(decoding: try encoder.encode(document), as: UTF8.self)
        }
    }
}
