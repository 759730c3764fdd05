import Foundation
import StockSim
import Testing

/// Issue 10, class 7: what the output says is true in its small things.
@Suite("small truths in the output")
struct SmallTruthsTests {
    @Test func unitsAndOrdersPerSecondAreToldApart() throws {
        let result = try StocksimCLI.run([
            "run", "--stock", "300", "--quantity", "3", "--workers", "2", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let units = try #require(object["units_per_second"] as? Double)
        let orders = try #require(object["orders_per_second"] as? Double)
        #expect(object["sales_per_second"] as? Double == units, "sales_per_second counts units")
        #expect(abs(units - 3 * orders) < 0.01 * units, "\(units) units/s, \(orders) orders/s")
        let text = try StocksimCLI.run(["run", "--stock", "300", "--quantity", "3", "--workers", "2", "--quiet"])
        #expect(text.stdout.contains(" units/s, ") && text.stdout.contains(" orders/s over "), "\(text.stdout)")
        #expect(!text.stdout.contains("sales/s"))
    }

    @Test func aSeedAbove2To53SurvivesAsAString() throws {
        let seed: UInt64 = 18_446_744_073_709_551_557
        let result = try StocksimCLI.run([
            "run", "--stock", "20", "--workers", "1", "--seed", "\(seed)", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        // A double-based reader (JavaScript, jq) rounds the number; the string keeps it.
        let asDouble = try #require((object["seed"] as? NSNumber)?.doubleValue)
        #expect(UInt64(exactly: asDouble) != seed, "the number alone loses precision as a double")
        #expect(object["seed_string"] as? String == "\(seed)")
        #expect(try result.report().seed == seed)
        // A sweep's parameters carry it the same way.
        let sweep = SweepResult(
            parameters: SweepParameters(
                SweepConfiguration(
                    workerCounts: [1], strategies: [.lua], repeats: 1, base: SimulationConfiguration(seed: seed))),
            redis: "r", embedded: true, points: [])
        let document = try #require(try JSONSerialization.jsonObject(with: try sweep.json()) as? [String: Any])
        let parameters = try #require(document["parameters"] as? [String: Any])
        #expect(parameters["seed_string"] as? String == "\(seed)")
    }

    @Test func oneIsSingular() throws {
        #expect(NumberText.count(1, "unit") == "1 unit")
        #expect(NumberText.count(0, "unit") == "0 units")
        #expect(NumberText.count(2, "entry", plural: "entries") == "2 entries")
        let result = try StocksimCLI.run(["run", "--stock", "1", "--workers", "1", "--quiet"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        // A count of one, not the end of a larger number or a rate ("321 units/s").
        for wrong in ["1 units", "1 workers", "1 orders", "1 SKUs", "1 groups"] {
            let alone = try Regex(#"(?:^|[^\d.,])"# + wrong + #"\b(?!/s)"#)
            #expect(!result.stdout.contains(alone), "'\(wrong)' in:\n\(result.stdout)")
        }
        #expect(try "sold 1 units of 1".contains(Regex(#"(?:^|[^\d.,])1 units\b(?!/s)"#)))
        #expect(try !"321 units/s, 21 units".contains(Regex(#"(?:^|[^\d.,])1 units\b(?!/s)"#)))
        #expect(result.stdout.contains("1 worker,"))
    }

    @Test func catalogProgressShowsTheCatalogsTotal() throws {
        #expect(SimulationConfiguration(initialStock: 50, skus: 4).totalStock == 200)
        let result = try StocksimCLI.run(["run", "--stock", "50", "--skus", "4", "--workers", "2"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stderr.contains("/200 "), "\(result.stderr)")
        #expect(!result.stderr.contains("/50 "), "\(result.stderr)")
    }

    /// Every subcommand `stocksim --help` lists, so that a new one is checked too.
    static func subcommands() throws -> [String] {
        let help = try StocksimCLI.run(["--help"]).stdout
        let section = help.components(separatedBy: "SUBCOMMANDS:\n").dropFirst().first ?? ""
        let listed = section.components(separatedBy: "\n\n").first ?? ""
        return listed.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }
    }

    @Test func everySubcommandIsChecked() throws {
        let listed = try Self.subcommands()
        #expect(listed.count >= 3 && ["run", "sweep", "check"].allSatisfy(listed.contains), "\(listed)")
        for command in listed {
            try helpShowsOneDefaultPerOption(command: command)
        }
    }

    @Test(arguments: ["run", "sweep", "check"])
    func helpShowsOneDefaultPerOption(command: String) throws {
        let result = try StocksimCLI.run([command, "--help"])
        #expect(result.exitCode == 0, "\(command) --help: \(result.stderr)")
        var options: [String] = []
        for line in result.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  -") {
                options.append(String(line))
            } else if line.hasPrefix("      "), !options.isEmpty {
                options[options.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        #expect(options.count > 3, "\(command): \(options)")
        for option in options {
            let defaults = option.lowercased().components(separatedBy: "default").count - 1
            #expect(defaults <= 1, "\(option)")
        }
    }
}
