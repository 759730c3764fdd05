import Foundation
import Spawn
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Spawn: what a child inherits")
struct SpawnTests {
    /// The descriptors open in process `pid`, by number.
    func descriptors(of pid: Int32) -> [Int] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap { Int($0) }
            .sorted()
    }

    #if os(Linux)
    @Test("a child gets stdin, stdout and stderr and nothing else, even descriptors opened without close-on-exec")
    func childKeepsOnlyTheStandardDescriptors() throws {
        var leaky: [Int32] = [-1, -1]
        try #require(pipe(&leaky) == 0)  // plain pipe(2): inheritable, as hiredis 0.14's sockets are when opened
        defer {
            close(leaky[0])
            close(leaky[1])
        }
        let given = try PipeDescriptors()
        defer { close(given.readEnd) }

        let child = try ChildProcess.spawn("sleep", arguments: ["10"], stdout: .descriptor(given.writeEnd))
        close(given.writeEnd)
        defer {
            child.signal(SIGKILL)
            child.wait()
        }
        #expect(descriptors(of: child.pid) == [0, 1, 2], "inherited: \(descriptors(of: child.pid))")
    }
    #endif

    @Test("both ends of a Pipe are close-on-exec from the start")
    func pipeEndsAreCloseOnExec() throws {
        let pipe = try PipeDescriptors()
        defer {
            close(pipe.readEnd)
            close(pipe.writeEnd)
        }
        #expect(fcntl(pipe.readEnd, F_GETFD) & FD_CLOEXEC != 0)
        #expect(fcntl(pipe.writeEnd, F_GETFD) & FD_CLOEXEC != 0)
    }
}
