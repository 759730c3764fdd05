import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import StockSim
import Testing

/// A temp dir of the test's own, removed with everything in it when the last reference to it goes.
final class TemporaryDirectory: Sendable {
    let path: String

    init(prefix: String = "stocksim-test") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to the file `name` in the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String, executable: Bool = false) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        if executable { chmod(file, 0o755) }
        return file
    }
}

/// Runs the built `stocksim` binary, as a user would, and captures what it printed and its exit status.
struct StocksimCLI {
    struct Result {
        var status: ChildProcess.Termination
        var stdout: String
        var stderr: String
        var seconds: Double
        /// The private TMPDIR the run was given (its redis-server's temp dir goes there), removed after the test.
        var directory: TemporaryDirectory
        var tmpdir: String { directory.path }

        var exitCode: Int32? {
            if case .exited(let code) = status { return code }
            return nil
        }

        /// The `--json` document.
        func report() throws -> SimulationReport {
            try SimulationReport.decode(Data(stdout.utf8))
        }
    }

    /// The `stocksim` binary built beside this test bundle.
    static var executable: String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("stocksim").path
    }

    /// Waits until `condition` holds, polling every 20 ms, for up to `timeout`.
    @discardableResult
    static func waitUntil(timeout: Duration = .seconds(30), _ condition: () throws -> Bool) rethrows -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }

    /// A `stocksim` process started in the background.
    struct Background {
        let child: ChildProcess
        let directory: TemporaryDirectory
        var tmpdir: String { directory.path }
        let start: ContinuousClock.Instant

        /// Waits for it to end (sending SIGINT after `timeout`) and returns what it printed.
        func finish(timeout: Duration = .seconds(120)) -> Result {
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var ended = child.poll()
            var interrupted = false
            while ended == nil {
                if !interrupted, clock.now > deadline {
                    child.signal(SIGINT)
                    interrupted = true
                }
                Thread.sleep(forTimeInterval: 0.01)
                ended = child.poll()
            }
            let status = ended ?? .exited(-1)
            let seconds = (ContinuousClock().now - start) / .seconds(1)
            let out = tmpdir + "/stdout"
            let err = tmpdir + "/stderr"
            let result = Result(
                status: status, stdout: TextFile.read(out), stderr: TextFile.read(err), seconds: seconds,
                directory: directory)
            // The run's own files go now: checks that the directory holds nothing else come after.
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
            return result
        }
    }

    /// Starts `stocksim ARGUMENTS` with a private TMPDIR, without waiting.
    static func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Background {
        let directory = try TemporaryDirectory()
        let tmpdir = directory.path
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmpdir
        environment.removeValue(forKey: "STOCKSIM_REDIS_URL")
        for (key, value) in extra { environment[key] = value }
        let start = ContinuousClock().now
        let child = try ChildProcess.spawn(
            executable, arguments: arguments, environment: environment.map { "\($0)=\($1)" },
            stdout: .file(tmpdir + "/stdout"), stderr: .file(tmpdir + "/stderr"), processGroup: nil)
        return Background(child: child, directory: directory, start: start)
    }

    /// Runs `stocksim ARGUMENTS` with a private TMPDIR, waits for it and returns what it printed.
    static func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> Result {
        try start(arguments, environment: extra).finish()
    }

    /// Processes still alive that belong to the run: workers inherit its TMPDIR; its redis-server works in a temp dir
    /// under it (Redis rewrites its own environ and title, so the working directory is what identifies it).
    static func leftovers(of result: Result) -> [String] { leftovers(tmpdir: result.tmpdir) }

    static func leftovers(tmpdir: String) -> [String] {
        let marker = "TMPDIR=\(tmpdir)"
        var found: [String] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in entries where Int(pid) != nil {
            // TextFile.read, not FileManager: /proc files are often empty, and FoundationEssentials leaks the buffer
            // of an empty file, which LeakSanitizer reports against the suite.
            let environ = TextFile.read("/proc/\(pid)/environ")
            let directory = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? ""
            if environ.split(separator: "\0").contains(where: { $0 == marker }) || directory.hasPrefix(tmpdir + "/") {
                let command = TextFile.read("/proc/\(pid)/cmdline").replacingOccurrences(of: "\0", with: " ")
                // The name tells a worker (`stocksim-worker`) from the fork server (`stocksim-pool`) that forked it
                // and whose command line it shares.
                let name = TextFile.read("/proc/\(pid)/comm").trimmingCharacters(in: .whitespacesAndNewlines)
                // A zombie has no environ to read, so anything found here is alive.
                found.append("\(pid): \(command.isEmpty ? "?" : command)[\(name)]")
            }
        }
        return found
    }
}

/// A private redis-server shared by the tests of one suite, with a connection to inspect it.
final class SharedRedis: Sendable {
    let server: RedisServer

    init() throws {
        server = try RedisServer()
    }

    var url: String { server.url }

    func connection() throws -> RedisConnection {
        try RedisConnection(endpoint: server.endpoint)
    }

    /// A key no other test uses.
    static func uniqueKey(_ name: String = #function) -> String {
        "test:\(name.prefix(while: { $0 != "(" })):\(UInt32.random(in: 0...UInt32.max))"
    }
}
