import EmbeddedRedis
import Foundation
import Hiredis
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// Hosts of a test of several drivers, each with a network stack of its own: one network namespace per host
/// (`ss-PID-TAG-I`), joined to the root namespace by a veth pair with a /30 of a 10.213.X.0/24 chosen for the test,
/// and one private redis-server in the root namespace bound to the veths' root-side addresses (and loopback, for the
/// test's own look). Not root, or no namespaces: every host is a separate process on loopback, and `note` says so.
/// Namespaces and veths are removed at `deinit`, and leftovers of a test process that died are removed at `init`.
final class HostNetwork: Sendable {
    let redis: RedisServer
    /// Per host: its namespace (empty on loopback) and the address it reaches Redis at.
    let namespaces: [String]
    let addresses: [String]
    /// True when every host has a network namespace of its own.
    let isolated: Bool
    let note: String

    init(hosts: Int) throws {
        Self.removeLeftovers()
        let tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        var made: [String] = []
        var addresses: [String] = []
        var note = ""
        // STOCKSIM_TEST_LOOPBACK_HOSTS=1 takes the fallback on purpose, to test it where namespaces work.
        let loopbackOnly = ProcessInfo.processInfo.environment["STOCKSIM_TEST_LOOPBACK_HOSTS"] == "1"
        if getuid() == 0, ChildProcess.which("ip") != nil, !loopbackOnly {
            let subnet = Self.freeSubnet()
            do {
                for host in 0..<hosts {
                    let namespace = "ss-\(getpid())-\(tag)-\(host)"
                    try Self.ip(["netns", "add", namespace])
                    made.append(namespace)
                    let outside = "ss\(tag)r\(host)"
                    let inside = "ss\(tag)n\(host)"
                    let rootAddress = "10.213.\(subnet).\(4 * host + 1)"
                    let hostAddress = "10.213.\(subnet).\(4 * host + 2)"
                    try Self.ip(["link", "add", outside, "type", "veth", "peer", "name", inside])
                    try Self.ip(["link", "set", inside, "netns", namespace])
                    try Self.ip(["addr", "add", "\(rootAddress)/30", "dev", outside])
                    try Self.ip(["link", "set", outside, "up"])
                    try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
                    try Self.ip(["-n", namespace, "addr", "add", "\(hostAddress)/30", "dev", inside])
                    try Self.ip(["-n", namespace, "link", "set", inside, "up"])
                    addresses.append(rootAddress)
                }
                note = "hosts in \(hosts) network namespaces on 10.213.\(subnet).0/24"
            } catch {
                for namespace in made { try? Self.ip(["netns", "del", namespace]) }
                for host in 0..<hosts { try? Self.ip(["link", "del", "ss\(tag)r\(host)"]) }
                made = []
                addresses = []
                note = "network namespaces could not be made (\(error)): hosts are separate processes on loopback"
            }
        } else {
            note =
                loopbackOnly
                ? "STOCKSIM_TEST_LOOPBACK_HOSTS=1: hosts are separate processes on loopback, not network namespaces"
                : "not root (or no iproute2): hosts are separate processes on loopback, not network namespaces"
        }
        isolated = !made.isEmpty
        namespaces = isolated ? made : Array(repeating: "", count: hosts)
        do {
            redis = try RedisServer(
                RedisServer.Configuration(
                    extraConfiguration: ["bind 127.0.0.1" + addresses.map { " " + $0 }.joined()]))
        } catch {
            for namespace in made { try? Self.ip(["netns", "del", namespace]) }
            throw error
        }
        self.addresses = isolated ? addresses : Array(repeating: "127.0.0.1", count: hosts)
        self.note = note
    }

    deinit {
        redis.stop()
        // Deleting a namespace deletes the veth end inside it, and with it the pair.
        for namespace in namespaces where !namespace.isEmpty { try? Self.ip(["netns", "del", namespace]) }
    }

    var port: Int { redis.port ?? 0 }

    /// The URL host `index` reaches Redis by.
    func url(host index: Int) -> String { "redis://\(addresses[index]):\(port)" }

    /// A connection for the test itself, on loopback.
    func connection() throws -> RedisConnection { try RedisConnection(endpoint: redis.endpoint) }

    /// Starts `stocksim ARGUMENTS` as host `index` (in its namespace), with a private TMPDIR, without waiting.
    func start(host index: Int, _ arguments: [String]) throws -> StocksimCLI.Background {
        let directory = try TemporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = directory.path
        environment.removeValue(forKey: "STOCKSIM_REDIS_URL")
        let (executable, all) =
            isolated
            ? ("ip", ["netns", "exec", namespaces[index], StocksimCLI.executable] + arguments)
            : (StocksimCLI.executable, arguments)
        let start = ContinuousClock().now
        // `ip netns exec` execs the program in place: the pid is stocksim's.
        let child = try ChildProcess.spawn(
            executable, arguments: all, environment: environment.map { "\($0)=\($1)" },
            stdout: .file(directory.path + "/stdout"), stderr: .file(directory.path + "/stderr"), processGroup: nil)
        return StocksimCLI.Background(child: child, directory: directory, start: start)
    }

    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `ip ARGUMENTS`, bounded to ten seconds.
    static func ip(_ arguments: [String]) throws {
        let output = try TemporaryDirectory(prefix: "ss-ip")
        let child = try ChildProcess.spawn(
            "ip", arguments: arguments, stdout: .file(output.path + "/out"), stderr: .file(output.path + "/out"),
            processGroup: nil)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        var ended = child.poll()
        while ended == nil, clock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
            ended = child.poll()
        }
        if ended == nil {
            child.signal(SIGKILL)
            _ = child.wait()
        }
        guard ended == .exited(0) else {
            throw CommandFailed(
                description:
                    "ip \(arguments.joined(separator: " ")): \(TextFile.read(output.path + "/out").trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
    }

    /// `ip ARGUMENTS`' output.
    static func ipOutput(_ arguments: [String]) -> String {
        guard let output = try? TemporaryDirectory(prefix: "ss-ip"),
            let child = try? ChildProcess.spawn(
                "ip", arguments: arguments, stdout: .file(output.path + "/out"), stderr: .devNull, processGroup: nil)
        else { return "" }
        _ = child.wait()
        return TextFile.read(output.path + "/out")
    }

    /// A third octet no address on this machine uses yet in 10.213.0.0/16.
    private static func freeSubnet() -> Int {
        let taken = ipOutput(["-o", "addr"])
        for _ in 0..<50 {
            let candidate = Int.random(in: 0...255)
            if !taken.contains("10.213.\(candidate).") { return candidate }
        }
        return Int.random(in: 0...255)
    }

    /// Namespaces `ss-PID-…` whose test process is gone, and root-side veths `ssTAGrN` left without one.
    private static func removeLeftovers() {
        guard getuid() == 0, ChildProcess.which("ip") != nil else { return }
        var liveTags: Set<String> = []
        for line in ipOutput(["netns", "list"]).split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "ss", let pid = Int32(parts[1]) else { continue }
            if kill(pid, 0) == 0 || errno == EPERM {
                liveTags.insert(String(parts[2]))
            } else {
                try? ip(["netns", "del", name])
            }
        }
        for line in ipOutput(["-o", "link"]).split(separator: "\n") {
            let fields = line.split(separator: ":")
            guard fields.count > 1 else { continue }
            let name = fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init) ?? ""
            guard name.count >= 8, name.hasPrefix("ss"), name.dropFirst(6).first == "r" else { continue }
            let tag = String(name.dropFirst(2).prefix(4))
            if !liveTags.contains(tag) { try? ip(["link", "del", name]) }
        }
    }
}
