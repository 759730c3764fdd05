import Foundation
import Testing

/// Issue 10, class 7: the README's JSON example is what `stocksim run --json` prints. The README names the command it
/// was made with; this runs that command (on an embedded redis-server of its own) and compares every key, nested ones
/// included, of the example with the report's. Values may differ from run to run; keys may not.
@Suite("README JSON example")
struct ReadmeExampleTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The command named just before the example, and the example.
    static func example() throws -> (arguments: [String], json: String) {
        let text = try String(contentsOf: readme, encoding: .utf8)
        let section = try #require(text.range(of: "### JSON (`--json`)"), "the README has no JSON section")
        let rest = text[section.upperBound...]
        let fence = try #require(rest.range(of: "```json\n"), "no ```json block in the JSON section")
        let end = try #require(rest[fence.upperBound...].range(of: "\n```"))
        let prose = rest[..<fence.lowerBound]
        let command = try #require(
            prose.components(separatedBy: "`").first { $0.hasPrefix("stocksim run ") && $0.contains("--json") },
            "the JSON section does not say which `stocksim run … --json` made its example")
        let arguments = command.split(separator: " ").dropFirst().map(String.init)
        return (arguments, String(rest[fence.upperBound..<end.lowerBound]))
    }

    /// Every key path in a JSON value: `stock.initial`, `audit.violations[].kind`; an array's elements share `[]`.
    static func keyPaths(_ value: Any, _ prefix: String = "") -> Set<String> {
        if let object = value as? [String: Any] {
            var paths: Set<String> = []
            for (key, child) in object {
                let path = prefix.isEmpty ? key : prefix + "." + key
                paths.insert(path)
                paths.formUnion(keyPaths(child, path))
            }
            return paths
        }
        if let array = value as? [Any] {
            return array.reduce(into: Set<String>()) { $0.formUnion(keyPaths($1, prefix + "[]")) }
        }
        return []
    }

    @Test func theExampleHasTheKeysOfARealRun() throws {
        let (arguments, json) = try Self.example()
        #expect(!arguments.contains("--redis"), "the example's run must start its own redis-server")
        let example = try JSONSerialization.jsonObject(with: Data(json.utf8))
        let result = try StocksimCLI.run(arguments + ["--quiet"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let real = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let documented = Self.keyPaths(example)
        let printed = Self.keyPaths(real)
        #expect(
            printed.subtracting(documented).isEmpty,
            "printed but not in the README's example: \(printed.subtracting(documented).sorted())")
        #expect(
            documented.subtracting(printed).isEmpty,
            "in the README's example but not printed: \(documented.subtracting(printed).sorted())")
    }

    @Test func theComparisonSeesANestedKey() throws {
        // A key missing two levels down is a difference: the check could fail.
        let full = Self.keyPaths(["audit": ["passed": true, "violations": [["kind": "oversell"]]]])
        let short = Self.keyPaths(["audit": ["passed": true, "violations": [[String: Any]]()]])
        #expect(full == ["audit", "audit.passed", "audit.violations", "audit.violations[].kind"])
        #expect(full.subtracting(short) == ["audit.violations[].kind"])
    }
}
