import Foundation
import StockSim
import Testing
import Yams

/// No Docker engine runs here, so docker/ is checked statically: the compose file parses, names services that fit
/// together, and its stocksim command is one the built binary runs successfully; the Dockerfile builds the product
/// that exists and installs what the README installs.
@Suite("docker/")
struct DockerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func read(_ path: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func composeFileParsesAndItsCommandRuns() throws {
        let compose = try #require(try Yams.load(yaml: read("docker/compose.yaml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        let redis = try #require(services["redis"] as? [String: Any])
        #expect((redis["image"] as? String)?.hasPrefix("redis:") == true)
        let stocksim = try #require(services["stocksim"] as? [String: Any])
        let build = try #require(stocksim["build"] as? [String: Any])
        let context = try #require(build["context"] as? String)
        let dockerfile = try #require(build["dockerfile"] as? String)
        let dockerfilePath = Self.root.appendingPathComponent("docker").appendingPathComponent(context)
            .appendingPathComponent(dockerfile).standardized.path
        #expect(FileManager.default.fileExists(atPath: dockerfilePath), "\(dockerfilePath)")
        let dependsOn = try #require(stocksim["depends_on"] as? [String: Any])
        #expect(dependsOn["redis"] != nil)

        // The command, pointed at a server this test started instead of the compose service, must run and pass.
        let command = try #require(stocksim["command"] as? [String])
        #expect(command.first == "run")
        #expect(command.contains("redis://redis:6379"))
        let server = try SharedRedis()
        let arguments = command.map { $0 == "redis://redis:6379" ? server.url : $0 } + ["--quiet", "--json"]
        let result = try StocksimCLI.run(arguments)
        #expect(result.exitCode == 0, "\(arguments) → \(result.stderr)")
        #expect(try result.report().audit.passed)
    }

    @Test func dockerfileBuildsTheProductAndInstallsWhatTheReadmeInstalls() throws {
        let dockerfile = try read("docker/Dockerfile")
        let stages = dockerfile.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.hasPrefix("FROM swift:6") == true)
        #expect(stages.last == "FROM debian:bookworm-slim")
        #expect(dockerfile.contains("libhiredis-dev"))
        #expect(dockerfile.contains("libhiredis0.14"))
        #expect(dockerfile.contains("redis-server"))
        #expect(dockerfile.contains("--product stocksim"))
        #expect(try read("Package.swift").contains(#".executable(name: "stocksim""#))
        #expect(try read("scripts/install-deps.sh").contains("libhiredis-dev"))
        // Everything the Dockerfile copies exists.
        for line in dockerfile.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
            let source = line.split(separator: " ")[1]
            #expect(
                FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(String(source)).path), "\(line)"
            )
        }
    }
}
