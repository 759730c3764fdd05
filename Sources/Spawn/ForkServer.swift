import CSpawn

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts many children of one program quickly: a small server process, started once with `posix_spawn`, forks each
/// child on request. A fork of the server skips what an exec costs every child (loading the program and its
/// libraries, starting the runtime: about 12 ms of CPU for `stocksim`, against a fraction of a millisecond), so a
/// thousand workers start in a second or two rather than ten.
///
/// The server forks only while it has one thread (a fork copies only the calling thread); with more it spawns each
/// child with `posix_spawn` of the fallback program. Either way the children are the server's: it reaps them with
/// `wait4` and reports how each ended and what it used, so ``waitForExit(of:)`` gives what
/// ``ChildProcess/waitWithUsage()`` gives for a child of one's own. Children share the server's process group. When
/// the client goes away, the server stops taking requests, waits for its children (which see their own stdin end)
/// and exits: nothing outlives the client for long.
public final class ForkServer {
    /// The server process.
    public let server: ChildProcess
    /// True when the server forks its children; false when it spawns them (it had more than one thread).
    public let forks: Bool
    private let control: Int32
    private var accepting = true
    private var exited: [Int32: (termination: ChildProcess.Termination, usage: ResourceUsage)] = [:]
    /// True once the server's stream has ended: children not reported by then cannot be reported any more.
    private var ended = false

    /// Starts the server: `executable arguments` must run ``serve(name:childName:fallbackExecutable:fallbackArguments:worker:)``
    /// with its stdin as the control socket.
    ///
    /// - Parameters:
    ///   - processGroup: as for ``ChildProcess/spawn(_:arguments:environment:stdin:stdout:stderr:processGroup:)``;
    ///     the children join the server's group.
    ///   - timeout: how long the server has to say it is ready.
    /// - Throws: `SpawnError` when the server cannot be started or does not answer.
    public init(executable: String, arguments: [String], processGroup: Int32? = 0, timeout: Duration)
        throws(ChildProcess.SpawnError)
    {
        var ends: [Int32] = [-1, -1]
        guard cspawn_socketpair_cloexec(&ends) == 0 else {
            throw ChildProcess.SpawnError(
                message: "cannot create a socket pair: \(String(cString: strerror(errno)))", errno: errno)
        }
        do {
            server = try ChildProcess.spawn(
                executable, arguments: arguments, stdin: .descriptor(ends[1]), stdout: .inherit, stderr: .inherit,
                processGroup: processGroup)
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        close(ends[1])
        control = ends[0]
        var ready = pollfd(fd: control, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(clamping: Int((timeout / .milliseconds(1)).rounded(.up)))
        var record = cspawn_record()
        guard poll(&ready, 1, max(milliseconds, 1)) == 1, cspawn_read_record(control, &record) == 1,
            record.tag == Int32(CSPAWN_HELLO)
        else {
            close(control)
            server.signal(SIGKILL)
            let ending = server.wait()
            throw ChildProcess.SpawnError(
                message: "the fork server \(executable) \(arguments.joined(separator: " ")) did not start (\(ending))",
                errno: 0)
        }
        forks = record.error == 1
    }

    deinit {
        close(control)
    }

    /// Starts one child whose stdin and stdout are the given descriptors (the caller keeps and closes its copies).
    ///
    /// - Returns: the child, to signal; wait for it with ``waitForExit(of:)``, never `waitpid` (it is not yours).
    /// - Throws: `SpawnError` when the server cannot fork or is gone.
    public func spawn(stdin: Int32, stdout: Int32) throws(ChildProcess.SpawnError) -> ChildProcess {
        guard accepting, cspawn_fork_server_request(control, stdin, stdout) == 0 else {
            throw ChildProcess.SpawnError(
                message:
                    "the fork server (pid \(server.pid)) does not take requests: \(String(cString: strerror(errno)))",
                errno: errno)
        }
        while let record = readRecord() {
            switch Int(record.tag) {
            case Int(CSPAWN_SPAWNED):
                return ChildProcess(pid: record.pid)
            case Int(CSPAWN_SPAWN_FAILED):
                throw ChildProcess.SpawnError(
                    message: "the fork server cannot start a child: \(String(cString: strerror(record.error)))",
                    errno: record.error)
            default:
                continue
            }
        }
        throw ChildProcess.SpawnError(message: "the fork server (pid \(server.pid)) ended", errno: 0)
    }

    /// Tells the server no more children are coming: it exits once every child it started has ended.
    public func finishSpawning() {
        guard accepting else { return }
        accepting = false
        shutdown(control, Int32(SHUT_WR))
    }

    /// Waits for a child of the server to end: how it ended and what it used, from the server's `wait4`.
    ///
    /// - Returns: `nil` when the server ended (it was killed) before reporting the child.
    public func waitForExit(of pid: Int32) -> (termination: ChildProcess.Termination, usage: ResourceUsage)? {
        while exited[pid] == nil, readRecord() != nil {}
        return exited.removeValue(forKey: pid)
    }

    /// Ends the requests and reaps the server once its children have ended.
    @discardableResult
    public func wait() -> ChildProcess.Termination {
        finishSpawning()
        while readRecord() != nil {}
        return server.wait()
    }

    /// Reads the next record, keeping every child's end for ``waitForExit(of:)``; `nil` at the end of the stream.
    private func readRecord() -> cspawn_record? {
        guard !ended else { return nil }
        var record = cspawn_record()
        guard cspawn_read_record(control, &record) == 1 else {
            ended = true
            return nil
        }
        if record.tag == Int32(CSPAWN_EXITED) {
            exited[record.pid] = (
                ChildProcess.termination(record.status),
                ResourceUsage(
                    userSeconds: Double(record.user_microseconds) / 1e6,
                    systemSeconds: Double(record.system_microseconds) / 1e6,
                    voluntaryContextSwitches: Int(record.voluntary_switches),
                    involuntaryContextSwitches: Int(record.involuntary_switches),
                    maxResidentBytes: Int(record.max_resident_kilobytes) * 1024,
                    minorPageFaults: Int(record.minor_faults))
            )
        }
        return record
    }

    /// The server's side, in the process the client started: serves requests on stdin until they end.
    ///
    /// - Parameters:
    ///   - name, childName: the process names (`/proc/PID/comm`, at most 15 bytes) of the server and of its forked
    ///     children, which share one command line.
    ///   - fallbackExecutable, fallbackArguments: what a server with more than one thread spawns per child instead.
    ///   - worker: what a forked child runs, with the requested stdin and stdout; its result is the child's status.
    /// - Returns: the status the process should exit with: the worker's in a forked child, 0 in the server when
    ///   every child has been reaped, 2 when the server could not run.
    public static func serve(
        name: String, childName: String, fallbackExecutable: String, fallbackArguments: [String],
        worker: () -> Int32
    ) -> Int32 {
        let argv = [fallbackExecutable] + fallbackArguments
        var cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let result = cspawn_fork_server(0, fallbackExecutable, &cArgv, name, childName)
        for pointer in cArgv { free(pointer) }
        switch result {
        case 0: return worker()
        case 1: return 0
        default: return 2
        }
    }
}
