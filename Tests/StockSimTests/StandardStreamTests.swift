import Foundation
import Spawn
import StockSim
import Testing

/// Standard streams are never mistaken for anything else: a closed descriptor is not reused by a socket, a report that
/// cannot be written is an error, and a sweep's outputs are checked before its first run.
@Suite("standard streams", .serialized)
struct StandardStreamTests {
    /// Runs `stocksim ARGUMENTS` with the given stdin, stdout and stderr, and waits for it.
    func run(
        _ arguments: [String], stdin: ChildProcess.Redirect = .devNull, stdout: ChildProcess.Redirect,
        stderr: ChildProcess.Redirect
    ) throws -> ChildProcess.Termination {
        let directory = try TemporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = directory.path
        environment.removeValue(forKey: "STOCKSIM_REDIS_URL")
        let child = try ChildProcess.spawn(
            StocksimCLI.executable, arguments: arguments, environment: environment.map { "\($0)=\($1)" },
            stdin: stdin, stdout: stdout, stderr: stderr, processGroup: nil)
        var ended = child.poll()
        while ended == nil {
            Thread.sleep(forTimeInterval: 0.01)
            ended = child.poll()
        }
        return ended ?? .exited(-1)
    }

    @Test func closedStdinAndStderrAreNotGivenToTheRedisConnection() throws {
        let files = try TemporaryDirectory()
        let out = files.path + "/stdout"
        // Progress goes to stderr: without --quiet the driver writes there all through the run.
        let status = try run(
            ["run", "--stock", "3000", "--workers", "2", "--strategy", "lua", "--json"], stdin: .closed,
            stdout: .file(out), stderr: .closed)
        #expect(status == .exited(0))
        let report = try SimulationReport.decode(Data(TextFile.read(out).utf8))
        #expect(report.audit.passed)
        #expect(report.sold == 3000)
    }

    @Test func aStderrThatCannotBeWrittenDoesNotStopTheRun() throws {
        let files = try TemporaryDirectory()
        let out = files.path + "/stdout"
        // Progress and the closing lines go to stderr; on a full disk they are lost, the run and its report are not.
        let status = try run(
            ["run", "--stock", "3000", "--workers", "2", "--orders", "100", "--json"], stdout: .file(out),
            stderr: .file("/dev/full"))
        #expect(status == .exited(0))
        #expect(try SimulationReport.decode(Data(TextFile.read(out).utf8)).audit.passed)
    }

    @Test(arguments: [[], ["--json"]])
    func aReportThatCannotBeWrittenIsStatus74(extra: [String]) throws {
        let files = try TemporaryDirectory()
        let err = files.path + "/stderr"
        let status = try run(
            ["run", "--stock", "100", "--workers", "1", "--quiet"] + extra, stdout: .file("/dev/full"),
            stderr: .file(err))
        #expect(status == .exited(74))
        let stderr = TextFile.read(err)
        #expect(stderr.split(separator: "\n").count == 1, "\(stderr)")
        #expect(stderr.contains("cannot write the report to stdout: No space left on device"), "\(stderr)")
    }

    @Test func aSweepRefusesTwoOutputsThatAreOneFileBeforeItsFirstRun() throws {
        let files = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: files.path + "/sub", withIntermediateDirectories: false)
        let same = [
            ["--csv", files.path + "/out", "--json", files.path + "/out"],
            ["--csv", files.path + "/sub/../out", "--svg", files.path + "/out"],
        ]
        for outputs in same {
            let result = try StocksimCLI.run(
                ["sweep", "--workers", "1", "--strategy", "lua", "--repeat", "1", "--stock", "100", "--quiet"]
                    + outputs)
            #expect(result.exitCode == 64, "\(outputs): \(result.stderr)")
            #expect(result.stderr.contains("are the same file"), "\(result.stderr)")
            #expect(!result.stderr.contains("run 1"), "no run before the refusal")
            #expect(!FileManager.default.fileExists(atPath: files.path + "/out"))
        }
        // The same file by a hard link.
        let existing = try files.write("existing.csv", "")
        let link = files.path + "/link.json"
        #expect(Glibc.link(existing, link) == 0)
        let linked = try StocksimCLI.run([
            "sweep", "--workers", "1", "--strategy", "lua", "--repeat", "1", "--stock", "100", "--quiet", "--csv",
            existing, "--json", link,
        ])
        #expect(linked.exitCode == 64, "\(linked.stderr)")
        #expect(linked.stderr.contains("are the same file"), "\(linked.stderr)")
    }

    @Test(arguments: ["/proc/nonexistent/x", "DIRECTORY"])
    func aSweepRefusesAnUnwritableOutputBeforeItsFirstRun(path: String) throws {
        let files = try TemporaryDirectory()
        let path = path == "DIRECTORY" ? files.path : path
        let result = try StocksimCLI.run([
            "sweep", "--workers", "1", "--strategy", "lua", "--repeat", "1", "--stock", "100", "--quiet", "--svg", path,
        ])
        #expect(result.exitCode == 64, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(path), "\(result.stderr)")
    }
}
