import CSpawn

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child OS process started with `posix_spawn` (never `fork()` of a running Swift process).
///
/// Children are started in a process group of their own (or a given one), so a Ctrl-C at the terminal reaches only
/// the parent, which then stops its children in order.
public struct ChildProcess: Sendable, Hashable {
    public let pid: Int32

    /// Where a standard descriptor of the child goes.
    public enum Redirect: Sendable {
        case inherit
        case devNull
        /// Write to (or read from) a file, created if missing, appended to.
        case file(String)
        /// Use this descriptor of the parent (it is duplicated into the child).
        case descriptor(Int32)
        /// Closed in the child, as a shell's `2>&-` leaves it.
        case closed
    }

    /// How a child ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signaled(let signal): "killed by signal \(signal) (\(ChildProcess.signalName(signal)))"
            }
        }
    }

    public struct SpawnError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var errno: Int32
        public var description: String { message }
    }

    public init(pid: Int32) { self.pid = pid }

    /// Starts `executable` (a path, or a name looked up in `PATH`).
    ///
    /// - Parameters:
    ///   - executable: the program.
    ///   - arguments: its arguments, without the program name.
    ///   - environment: `KEY=value` entries; `nil` passes the parent's environment.
    ///   - stdin, stdout, stderr: where the standard descriptors go.
    ///   - processGroup: `0` for a new group led by the child, a pid to join that group, `nil` to stay in the
    ///     parent's group.
    /// - Throws: `SpawnError` naming the program and the OS error.
    public static func spawn(
        _ executable: String, arguments: [String], environment: [String]? = nil, stdin: Redirect = .devNull,
        stdout: Redirect = .inherit, stderr: Redirect = .inherit, processGroup: Int32? = 0
    ) throws(SpawnError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, redirect) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch redirect {
            case .inherit:
                break
            case .devNull:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .file(let path):
                let flags = target == 0 ? O_RDONLY : (O_WRONLY | O_CREAT | O_APPEND)
                posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o644)
            case .descriptor(let fd):
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            case .closed:
                posix_spawn_file_actions_addclose(&actions, target)
            }
        }
        // The child keeps stdin, stdout and stderr and nothing else: no descriptor another thread opened without
        // close-on-exec (hiredis 0.14's sockets are such, until the wrapper marks them) leaks into it. Where the C
        // library lacks this (glibc before 2.34), close-on-exec on every descriptor we open is the only guard.
        _ = cspawn_file_actions_addclosefrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if let processGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, processGroup)
        }
        // The child starts with no blocked signals and default handlers for the ones a parent commonly changes.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = [executable] + arguments
        var cArgv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArgv { free(pointer) } }
        let cEnv: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { for pointer in cEnv ?? [] { free(pointer) } }

        var pid: pid_t = 0
        let status: Int32 =
            if var env = cEnv {
                posix_spawnp(&pid, executable, &actions, &attributes, &cArgv, &env)
            } else {
                posix_spawnp(&pid, executable, &actions, &attributes, &cArgv, environ)
            }
        guard status == 0 else {
            throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(status)))", errno: status)
        }
        return ChildProcess(pid: pid)
    }

    /// Sends a signal; a process that is already gone is not an error.
    public func signal(_ signal: Int32) {
        _ = kill(pid, signal)
    }

    /// Waits for the child to end and reaps it.
    @discardableResult
    public func wait() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return .exited(-1) }
        }
        return Self.termination(status)
    }

    /// Waits for the child to end, reaps it, and returns what it used (`wait4`). On Linux the usage of a reaped child
    /// includes that of every descendant it reaped in turn, so for a program that forks workers and waits for them
    /// it covers the whole tree (the peak RSS is that of its largest single process, not a sum).
    ///
    /// The same as ``wait()`` otherwise; a child that cannot be waited for reports `.exited(-1)` and zero usage.
    public func waitWithUsage() -> (termination: Termination, usage: ResourceUsage) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) == -1 {
            if errno != EINTR { return (.exited(-1), ResourceUsage()) }
        }
        return (Self.termination(status), ResourceUsage(usage))
    }

    /// Reaps the child if it has ended; `nil` while it runs.
    public func poll() -> Termination? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { return Self.termination(status) }
        if result == -1 && errno == ECHILD { return .exited(-1) }
        return nil
    }

    /// Waits up to `timeout` for the child to end, then kills it with SIGKILL and reaps it.
    @discardableResult
    public func wait(timeout: Duration) -> Termination {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let ended = poll() { return ended }
            usleep(5_000)
        }
        signal(SIGKILL)
        return wait()
    }

    /// Asks the child to stop with SIGTERM, waits up to `grace`, then SIGKILL.
    @discardableResult
    public func terminate(grace: Duration = .seconds(5)) -> Termination {
        if let ended = poll() { return ended }
        signal(SIGTERM)
        return wait(timeout: grace)
    }

    /// Decodes a wait status (WIFEXITED and friends are macros Swift cannot import).
    public static func termination(_ status: Int32) -> Termination {
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// SIGKILL → "SIGKILL".
    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGKILL: "SIGKILL"
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGSEGV: "SIGSEGV"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGPIPE: "SIGPIPE"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    /// The full path of `name` in `PATH`, or `nil` when it is not installed there.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// What a reaped child (and the descendants it reaped) used, from `wait4`'s `rusage`.
public struct ResourceUsage: Sendable, Hashable {
    public var userSeconds: Double
    public var systemSeconds: Double
    /// Times a process gave up the CPU to wait (a read, a sleep, a lock).
    public var voluntaryContextSwitches: Int
    /// Times a process was preempted: its time slice ended or a more deserving one woke.
    public var involuntaryContextSwitches: Int
    /// Peak resident memory of the largest single process, in bytes. posix_spawn shares the parent's memory until
    /// the child's exec, and Linux keeps that memory's high-water mark as the child's: the figure is at least the
    /// spawning process's resident size at the time of the spawn.
    public var maxResidentBytes: Int
    /// Page faults served without I/O (a page zeroed, copied on write or found in the page cache): what a process
    /// pays to touch memory for the first time.
    public var minorPageFaults: Int

    public init(
        userSeconds: Double = 0, systemSeconds: Double = 0, voluntaryContextSwitches: Int = 0,
        involuntaryContextSwitches: Int = 0, maxResidentBytes: Int = 0, minorPageFaults: Int = 0
    ) {
        self.userSeconds = userSeconds
        self.systemSeconds = systemSeconds
        self.voluntaryContextSwitches = voluntaryContextSwitches
        self.involuntaryContextSwitches = involuntaryContextSwitches
        self.maxResidentBytes = maxResidentBytes
        self.minorPageFaults = minorPageFaults
    }

    init(_ usage: rusage) {
        #if os(Linux)
        let rssUnit = 1024  // Linux reports ru_maxrss in kilobytes
        #else
        let rssUnit = 1  // Darwin in bytes
        #endif
        self.init(
            userSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
            systemSeconds: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
            voluntaryContextSwitches: Int(usage.ru_nvcsw), involuntaryContextSwitches: Int(usage.ru_nivcsw),
            maxResidentBytes: Int(usage.ru_maxrss) * rssUnit, minorPageFaults: Int(usage.ru_minflt))
    }

    /// User plus system CPU.
    public var cpuSeconds: Double { userSeconds + systemSeconds }

    /// Voluntary plus involuntary.
    public var contextSwitches: Int { voluntaryContextSwitches + involuntaryContextSwitches }
}

/// A pipe whose two ends are closed on exec, so children receive only the end that is given to them explicitly.
public struct PipeDescriptors: Sendable {
    public let readEnd: Int32
    public let writeEnd: Int32

    public init() throws(ChildProcess.SpawnError) {
        var fds: [Int32] = [-1, -1]
        // Close-on-exec from the start (pipe2): no spawn on another thread can catch an end in between.
        guard cspawn_pipe_cloexec(&fds) == 0 else {
            throw ChildProcess.SpawnError(
                message: "cannot create a pipe: \(String(cString: strerror(errno)))", errno: errno)
        }
        readEnd = fds[0]
        writeEnd = fds[1]
    }
}
