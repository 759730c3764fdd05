import Foundation
public import Hiredis
import Spawn
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A private `redis-server` process: started from `PATH` on a free loopback port (or a unix socket) with a temp dir of
/// its own, and stopped — its files removed — by ``stop()`` or when the value is released.
///
/// It does not outlive its owner: a watchdog (a `/bin/sh` waiting on a pipe only the owner holds) stops the server
/// and removes its dir when the owning process dies without stopping it, by SIGKILL included.
///
/// Used by the tests, the benchmarks and `stocksim`'s embedded default. It never touches a server it did not start.
public final class RedisServer: Sendable {
    public struct Configuration: Sendable {
        /// The program to run: a name looked up in `PATH` or a path.
        public var executable: String
        /// Listen on a unix socket in the temp dir instead of a loopback TCP port.
        public var unixSocket: Bool
        /// `requirepass` for the default user.
        public var password: String?
        /// ACL users to create (`user NAME on >PASSWORD RULES`).
        public var users: [User]
        public var persistence: Persistence
        /// Further `redis.conf` lines, such as `maxmemory 1mb`.
        public var extraConfiguration: [String]
        /// Time allowed for the server to answer after it was started.
        public var startTimeout: Duration
        /// Run as a Redis Cluster node (see ``RedisClusterServer``); `nil` for a standalone server.
        public var cluster: ClusterNodeOptions?

        public init(
            executable: String = "redis-server", unixSocket: Bool = false, password: String? = nil, users: [User] = [],
            persistence: Persistence = .none, extraConfiguration: [String] = [], startTimeout: Duration = .seconds(10),
            cluster: ClusterNodeOptions? = nil
        ) {
            self.executable = executable
            self.unixSocket = unixSocket
            self.password = password
            self.users = users
            self.persistence = persistence
            self.extraConfiguration = extraConfiguration
            self.startTimeout = startTimeout
            self.cluster = cluster
        }
    }

    /// An ACL user: `rules` in `ACL SETUSER` syntax, such as `~* &* +@all` or `~* +get -decrby`.
    public struct User: Sendable, Hashable {
        public var name: String
        public var password: String
        public var rules: String
        public init(name: String, password: String, rules: String = "~* &* +@all") {
            self.name = name
            self.password = password
            self.rules = rules
        }
    }

    public enum Persistence: Sendable, Hashable {
        /// No RDB snapshots, no AOF: a restart loses everything.
        case none
        /// `appendonly yes` with `appendfsync always`: every write is on disk before its reply.
        case appendOnlyAlways
        /// `appendonly yes` with `appendfsync everysec`.
        case appendOnlyEverySecond
    }

    public struct StartError: Error, Sendable, CustomStringConvertible {
        public var message: String
        /// True when `redis-server` is not installed.
        public var notInstalled: Bool
        public var description: String { message }
    }

    public let configuration: Configuration
    /// The temp dir that holds the configuration, the log, the data files and the socket.
    public let directory: String
    /// The loopback port, or `nil` with a unix socket.
    public let port: Int?
    private let executablePath: String
    private let process: Mutex<Launched?>

    /// Starts a server and waits until it answers.
    ///
    /// - Parameter configuration: what to start.
    /// - Throws: `StartError` when `redis-server` is not installed, or does not start or answer in time (the message
    ///   quotes its log).
    public init(_ configuration: Configuration = Configuration()) throws(StartError) {
        guard let executablePath = ChildProcess.which(configuration.executable) else {
            throw StartError(
                message:
                    "\(configuration.executable) is not installed (not found in PATH); install it with 'sudo apt-get install redis-server', or pass --redis URL to use a running server",
                notInstalled: true)
        }
        self.configuration = configuration
        self.executablePath = executablePath
        self.process = Mutex(nil)
        var template = Array("\(NSTemporaryDirectory())/stocksim-redis-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw StartError(
                message: "cannot create a temp dir for redis-server: \(String(cString: strerror(errno)))",
                notInstalled: false)
        }
        directory = String(cString: made)
        var lastError: StartError?
        // A free port found by binding port 0 can be taken by someone else before redis-server binds it: try again.
        for _ in 0..<5 {
            let port =
                configuration.unixSocket
                ? nil : configuration.cluster == nil ? Self.freeLoopbackPort() : Self.freeClusterPort()
            do throws(StartError) {
                try Self.writeConfiguration(configuration, directory: directory, port: port)
                let launched = try Self.launch(executablePath, directory: directory)
                do throws(StartError) {
                    try Self.waitUntilReady(
                        launched.server, endpoint: Self.endpoint(configuration, directory, port),
                        timeout: configuration.startTimeout, directory: directory)
                } catch {
                    launched.watchdog?.disarm()
                    throw error
                }
                self.port = port
                self.process.withLock { $0 = launched }
                return
            } catch {
                lastError = error
                if !Self.log(directory).contains("Address already in use") { break }
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw lastError ?? StartError(message: "redis-server did not start", notInstalled: false)
    }

    deinit {
        stop()
    }

    /// The endpoint to connect to, logging in as the default user with the configured password.
    public var endpoint: RedisEndpoint { Self.endpoint(configuration, directory, port) }

    /// The endpoint as a URL.
    public var url: String {
        switch endpoint.address {
        case .tcp(let host, let port):
            let auth = configuration.password.map { ":\(Self.percentEncoded($0))@" } ?? ""
            return "redis://\(auth)\(host):\(port)"
        case .unix(let path):
            return "unix://\(path)" + (configuration.password.map { "?password=\(Self.percentEncoded($0))" } ?? "")
        }
    }

    /// The pid of the running server, or `nil` once it was stopped or killed.
    public var pid: Int32? { process.withLock { $0?.server.pid } }

    /// The pid of the watchdog that stops the server if this process dies without stopping it, or `nil`.
    public var watchdogPID: Int32? { process.withLock { $0?.watchdog?.process.pid } }

    /// Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its temp dir. Safe to call more than once.
    public func stop() {
        halt(signal: SIGTERM)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Kills the server with `signal` and reaps it, keeping its files (for crash and restart tests).
    public func kill(signal: Int32 = 9) {
        halt(signal: signal)
    }

    /// Stops the server if it runs and starts it again on the same port and dir, with the same data files.
    ///
    /// - Throws: `StartError` as ``init(_:)``.
    public func restart() throws(StartError) {
        halt(signal: SIGTERM)
        let launched = try Self.launch(executablePath, directory: directory)
        process.withLock { $0 = launched }
        do throws(StartError) {
            try Self.waitUntilReady(
                launched.server, endpoint: endpoint, timeout: configuration.startTimeout, directory: directory)
        } catch {
            // waitUntilReady has reaped the child (it exited, or was killed at the timeout): forget its pid, which the
            // system may already have given to another process that stop() would then signal.
            process.withLock { if $0?.server == launched.server { $0 = nil } }
            launched.watchdog?.disarm()
            throw error
        }
    }

    /// The server's log so far.
    public var log: String { Self.log(directory) }

    private func halt(signal: Int32) {
        let launched = process.withLock { current -> Launched? in
            defer { current = nil }
            return current
        }
        guard let launched else { return }
        // First the watchdog, so that it never signals a pid the system has reused after the server was reaped.
        launched.watchdog?.disarm()
        launched.server.signal(signal)
        launched.server.wait(timeout: .seconds(5))
    }

    /// A running server and its watchdog.
    private struct Launched: Sendable {
        var server: ChildProcess
        var watchdog: Watchdog?
    }

    /// A `/bin/sh` in a process group of its own that reads one line from a pipe whose write end only the owner holds
    /// (close-on-exec, so no worker inherits it). The owner writes `disarm` before it stops the server itself; end of
    /// file without it means the owner died, and then the watchdog stops the server (SIGTERM, SIGKILL after 5 s) and
    /// removes its dir.
    struct Watchdog: Sendable {
        let process: ChildProcess
        let writeEnd: Int32

        static let script = """
            if read -r word && [ "$word" = disarm ]; then exit 0; fi
            # Alive, and not a zombie its new parent has yet to reap.
            alive() { kill -0 "$1" 2>/dev/null && case $(cat "/proc/$1/stat" 2>/dev/null) in *") Z "*) false ;; esac; }
            kill -TERM "$1" 2>/dev/null
            i=0
            while alive "$1"; do
              i=$((i + 1))
              if [ "$i" -gt 50 ]; then kill -KILL "$1" 2>/dev/null; break; fi
              sleep 0.1
            done
            rm -rf -- "$2"
            """

        /// Starts a watchdog over `server`; `nil` when `/bin/sh` cannot be started (the server then runs unguarded).
        init?(server: ChildProcess, directory: String) {
            guard let pipe = try? PipeDescriptors() else { return nil }
            defer { close(pipe.readEnd) }
            guard
                let process = try? ChildProcess.spawn(
                    "/bin/sh",
                    arguments: ["-c", Self.script, "stocksim-redis-watchdog", String(server.pid), directory],
                    stdin: .descriptor(pipe.readEnd), stdout: .devNull, stderr: .devNull, processGroup: 0)
            else {
                close(pipe.writeEnd)
                return nil
            }
            self.process = process
            writeEnd = pipe.writeEnd
        }

        /// Tells the watchdog the owner is stopping the server itself, and reaps it.
        func disarm() {
            let line = Array("disarm\n".utf8)
            _ = line.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
            close(writeEnd)
            process.wait(timeout: .seconds(5))
        }
    }

    // MARK: Starting

    private static func endpoint(_ configuration: Configuration, _ directory: String, _ port: Int?) -> RedisEndpoint {
        if let port {
            return .tcp(host: "127.0.0.1", port: port, password: configuration.password)
        }
        return .unix(path: "\(directory)/redis.sock", password: configuration.password)
    }

    private static func writeConfiguration(_ configuration: Configuration, directory: String, port: Int?)
        throws(StartError)
    {
        var lines = [
            "bind 127.0.0.1",
            "port \(port ?? 0)",
            "dir \(directory)",
            "logfile \(directory)/redis.log",
            "daemonize no",
            "save \"\"",
            "protected-mode no",
        ]
        if port == nil { lines += ["unixsocket \(directory)/redis.sock", "unixsocketperm 700"] }
        switch configuration.persistence {
        case .none: lines.append("appendonly no")
        case .appendOnlyAlways: lines += ["appendonly yes", "appendfsync always"]
        case .appendOnlyEverySecond: lines += ["appendonly yes", "appendfsync everysec"]
        }
        if let password = configuration.password { lines.append("requirepass \(quoted(password))") }
        for user in configuration.users {
            lines.append("user \(user.name) on >\(user.password) \(user.rules)")
        }
        if let cluster = configuration.cluster { lines += cluster.configurationLines }
        lines += configuration.extraConfiguration
        do {
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: "\(directory)/redis.conf", atomically: true, encoding: .utf8)
        } catch {
            throw StartError(message: "cannot write \(directory)/redis.conf: \(error)", notInstalled: false)
        }
    }

    private static func launch(_ executable: String, directory: String) throws(StartError) -> Launched {
        let server: ChildProcess
        do {
            // Its own process group: a Ctrl-C at the terminal reaches stocksim, which then stops the server itself.
            server = try ChildProcess.spawn(
                executable, arguments: ["\(directory)/redis.conf"], stdout: .file("\(directory)/stdout.log"),
                stderr: .file("\(directory)/stdout.log"), processGroup: 0)
        } catch {
            throw StartError(message: "cannot start \(executable): \(error.message)", notInstalled: false)
        }
        return Launched(server: server, watchdog: Watchdog(server: server, directory: directory))
    }

    private static func waitUntilReady(
        _ child: ChildProcess, endpoint: RedisEndpoint, timeout: Duration, directory: String
    ) throws(StartError) {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        // Log in as the endpoint does: without the password, NOAUTH would come back before a server that is still
        // loading its data files says so. A server that answers LOADING is not ready yet. Whoever answers must be
        // this child: a free port can be taken by another server between the search and redis-server's bind, and
        // then the other server answers while this one fails with "Address already in use" and exits.
        while clock.now < deadline {
            if let ended = child.poll() {
                throw StartError(
                    message: "redis-server \(ended) before it answered: \(lastLines(log(directory)))",
                    notInstalled: false)
            }
            if let connection = try? RedisConnection(
                endpoint: endpoint, options: .init(connectTimeout: .milliseconds(200), commandTimeout: .seconds(1))),
                let replies = try? connection.pipeline([RedisCommand("PING"), RedisCommand("INFO", "server")]),
                replies.first?.errorReply?.code != "LOADING",
                let info = replies.last,
                info.isError || info.infoField("process_id").flatMap({ Int32($0) }) == child.pid
            {
                // An error instead of INFO (renamed or denied by the configuration) cannot tell: the PING stands.
                return
            }
            usleep(10_000)
        }
        child.signal(SIGKILL)
        child.wait()
        throw StartError(
            message: "redis-server did not answer within \(timeout): \(lastLines(log(directory)))", notInstalled: false)
    }

    private static func log(_ directory: String) -> String {
        ["redis.log", "stdout.log"].map { TextFile.read("\(directory)/\($0)") }.filter { !$0.isEmpty }
            .joined(separator: "\n")
    }

    private static func lastLines(_ text: String) -> String {
        let lines = text.split(separator: "\n").suffix(3)
        return lines.isEmpty ? "(no log)" : lines.joined(separator: " | ")
    }

    /// A loopback port nobody listens on right now (bind port 0, read it back, close).
    public static func freeLoopbackPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : 0
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
