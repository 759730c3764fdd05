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
        // `sleep` opens descriptors of its own while it starts (the dynamic loader opens libc.so.6 as 3, then closes
        // it); on a loaded machine the listing can catch that. An inherited descriptor stays for the child's life:
        // look again for up to five seconds, never longer.
        var open = descriptors(of: child.pid)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while open != [0, 1, 2], clock.now < deadline {
            usleep(20_000)
            open = descriptors(of: child.pid)
        }
        #expect(open == [0, 1, 2], "inherited: \(open)")
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

@Suite("Spawn: what a child used")
struct ResourceUsageTests {
    /// A shell that forks `children` subshells, each holding a 32 MB string and sleeping, and waits for them: the
    /// memory and the sleeps are the grandchildren's, not the spawned shell's own.
    static let forkingShell = """
        for i in 1 2; do (x=$(head -c 33554432 /dev/zero | tr '\\0' a); sleep 0.05; echo ${#x} >/dev/null) & done
        wait
        """

    @Test("waitWithUsage covers the descendants the child reaped: their context switches, CPU and peak memory")
    func usageCoversTheChildsTree() throws {
        let idle = try ChildProcess.spawn("sh", arguments: ["-c", "true"]).waitWithUsage()
        #expect(idle.termination == .exited(0))
        let (termination, usage) = try ChildProcess.spawn("sh", arguments: ["-c", Self.forkingShell]).waitWithUsage()
        #expect(termination == .exited(0))
        #expect(usage.voluntaryContextSwitches > 0, "\(usage)")
        #expect(usage.contextSwitches > idle.usage.contextSwitches, "\(idle.usage) vs \(usage)")
        #expect(usage.cpuSeconds > idle.usage.cpuSeconds, "\(idle.usage) vs \(usage)")
        // The peak is the largest single process's: at least a subshell with its 32 MB, never the sum of both. (The
        // spawned shell's own peak is this test process's size at the spawn, which posix_spawn shares until exec, so
        // the idle figure moves with the tests running beside this one.)
        #expect(usage.maxResidentBytes >= 33_554_432, "\(usage)")
        // Each subshell touches its 32 MB string page by page: thousands of minor faults over the idle shell's.
        #expect(usage.minorPageFaults > idle.usage.minorPageFaults + 8_192, "\(idle.usage) vs \(usage)")
        #expect(
            usage.maxResidentBytes < max(idle.usage.maxResidentBytes, 33_554_432) + 60_000_000,
            "\(idle.usage) vs \(usage)")
    }

    @Test("waitWithUsage reports how the child ended, as wait() does")
    func terminationAsWait() throws {
        #expect(try ChildProcess.spawn("sh", arguments: ["-c", "exit 3"]).waitWithUsage().termination == .exited(3))
        let sleeper = try ChildProcess.spawn("sleep", arguments: ["10"])
        sleeper.signal(SIGKILL)
        #expect(sleeper.waitWithUsage().termination == .signaled(SIGKILL))
    }

    @Test("waiting for a pid that is not a child reports -1 and zero usage")
    func notAChild() {
        let (termination, usage) = ChildProcess(pid: 1).waitWithUsage()
        #expect(termination == .exited(-1))
        #expect(usage == ResourceUsage())
    }
}

#if os(Linux)
@Suite("Spawn: timer slack")
struct TimerSlackTests {
    /// What a thread saw, handed over after its semaphore is signalled.
    final class Seen: @unchecked Sendable {
        var values: [Int?] = []
    }

    /// On a thread of its own, so that the test's thread keeps what it had.
    @Test("wakeOnTime leaves the thread 1 ns of timer slack, and a thread it starts inherits it")
    func wakeOnTimeSetsTheLeastSlack() {
        let seen = Seen()
        let done = DispatchSemaphore(value: 0)
        Thread {
            let before = TimerSlack.current
            let set = TimerSlack.wakeOnTime()
            let after = TimerSlack.current
            let child = Seen()
            let childDone = DispatchSemaphore(value: 0)
            Thread {
                child.values = [TimerSlack.current]
                childDone.signal()
            }.start()
            childDone.wait()
            seen.values = [before, set ? 1 : 0, after] + child.values
            done.signal()
        }.start()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(seen.values.count == 4, "\(seen.values)")
        #expect((seen.values.first ?? nil).map { $0 > 1 } == true, "a thread starts with the default: \(seen.values)")
        #expect(Array(seen.values.dropFirst()) == [1, 1, 1], "\(seen.values)")
    }
}
#endif
