import Foundation
import Spawn
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fork server that starts a run's workers (`stocksim worker --fork-server`), driven directly.
@Suite("Fork server: workers forked, reaped and reported")
struct ForkServerTests {
    func startServer() throws -> ForkServer {
        try ForkServer(
            executable: StocksimCLI.executable, arguments: ["worker", "--fork-server"], timeout: .seconds(30))
    }

    /// A child whose stdin is held open by the test (so it waits for an assignment) and whose stdout it reads.
    struct Child {
        var process: ChildProcess
        /// The test's end of the child's stdin.
        var input: Int32
        /// The test's end of the child's stdout.
        var output: Int32

        func closeInput() { close(input) }

        /// Everything the child wrote until it closed stdout.
        func readAll() -> String {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(output, &buffer, buffer.count)
                if count > 0 {
                    bytes += buffer[0..<count]
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(output)
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    func spawn(on server: ForkServer) throws -> Child {
        let input = try PipeDescriptors()
        let output = try PipeDescriptors()
        defer {
            close(input.readEnd)
            close(output.writeEnd)
        }
        let process = try server.spawn(stdin: input.readEnd, stdout: output.writeEnd)
        return Child(process: process, input: input.writeEnd, output: output.readEnd)
    }

    func commandLine(of pid: Int32) -> [String] {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    #if os(Linux)
    @Test("children are forked from the server, not executed anew, and keep only stdin, stdout and stderr")
    func childrenAreForked() throws {
        let server = try startServer()
        #expect(server.forks, "a stocksim worker server has one thread, so it forks")
        let child = try spawn(on: server)
        // A forked child runs the server's program image with the server's command line; an exec'd one would read
        // `stocksim worker`.
        #expect(commandLine(of: child.process.pid).suffix(2) == ["worker", "--fork-server"])
        func open() -> [Int] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(child.process.pid)/fd")) ?? [])
                .compactMap(Int.init).sorted()
        }
        // Until the child has run, it holds the server's descriptors; then only its own three.
        StocksimCLI.waitUntil(timeout: .seconds(10)) { open() == [0, 1, 2] }
        #expect(open() == [0, 1, 2], "the child holds \(open())")
        child.closeInput()
        #expect(child.readAll().contains("no assignment on stdin"))
        let ending = try #require(server.waitForExit(of: child.process.pid))
        #expect(ending.termination == .exited(2))
        #expect(server.wait() == .exited(0))
    }
    #endif

    @Test("every child's end and usage is reported: its exit status, a signal that killed it, its peak memory")
    func endsAreReported() throws {
        let server = try startServer()
        let children = try (0..<20).map { _ in try spawn(on: server) }
        let killed = children[7]
        killed.process.signal(SIGKILL)
        for child in children where child.process != killed.process { child.closeInput() }
        for child in children where child.process != killed.process {
            #expect(child.readAll().contains("\"failed\""))
        }
        server.finishSpawning()
        for child in children {
            let ending = try #require(server.waitForExit(of: child.process.pid), "pid \(child.process.pid)")
            #expect(ending.termination == (child.process == killed.process ? .signaled(SIGKILL) : .exited(2)))
            #expect(ending.usage.maxResidentBytes > 0)
            #expect(ending.usage.minorPageFaults > 0, "a forked child copies pages on write: \(ending.usage)")
        }
        killed.closeInput()
        _ = killed.readAll()
        #expect(throws: ChildProcess.SpawnError.self) { try spawn(on: server) }
        #expect(server.wait() == .exited(0))
    }

    @Test("a client that goes away leaves nothing behind: the server waits for its children and exits")
    func serverEndsWithItsClient() throws {
        var server: ForkServer? = try startServer()
        let child = try spawn(on: try #require(server))
        let serverProcess = try #require(server?.server)
        server = nil  // the client's end of the control socket closes, as when the driver dies
        #expect(serverProcess.poll() == nil, "the server waits for its child")
        child.closeInput()  // the child's stdin ends, as a worker's does when its driver dies
        _ = child.readAll()
        #expect(serverProcess.wait(timeout: .seconds(30)) == .exited(0))
    }
}
