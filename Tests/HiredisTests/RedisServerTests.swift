import EmbeddedRedis
import Foundation
import Hiredis
import Spawn
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("RedisServer, the private redis-server the tests start")
struct RedisServerTests {
    @Test("starts on a free loopback port in a temp dir of its own and answers PING")
    func startsAndAnswers() throws {
        let server = try RedisServer(.init(extraConfiguration: ["maxmemory 1mb"]))
        defer { server.stop() }
        let pid = try #require(server.pid)
        let port = try #require(server.port)

        #expect(kill(pid, 0) == 0, "the process runs")
        #expect(FileManager.default.fileExists(atPath: server.directory + "/redis.conf"))
        #expect(server.endpoint == .tcp(host: "127.0.0.1", port: port))
        #expect(server.url == "redis://127.0.0.1:\(port)")
        let connection = try RedisConnection(endpoint: server.endpoint)
        #expect(try connection.send("PING") == .status("PONG"))
        #expect(try connection.send("CONFIG", "GET", "port") == .array([.bulkString("port"), .bulkString("\(port)")]))
        #expect(
            try connection.send("CONFIG", "GET", "maxmemory")
                == .array([.bulkString("maxmemory"), .bulkString("1048576")]),
            "extra configuration lines are applied")
        let info = try #require(try connection.send("INFO", "server").string)
        #expect(info.contains("process_id:\(pid)\r\n"), "the server we talk to is the process we started")
    }

    @Test("two servers get different ports and directories")
    func serversAreIsolated() throws {
        let first = try RedisServer()
        defer { first.stop() }
        let second = try RedisServer()
        defer { second.stop() }

        #expect(first.port != second.port)
        #expect(first.directory != second.directory)
        let key = uniqueKey()
        try RedisConnection(endpoint: first.endpoint).send(RedisCommand("SET", key: key, "first"))
        #expect(try RedisConnection(endpoint: second.endpoint).send(RedisCommand("GET", key: key)) == .null)
    }

    @Test("stop() ends the process, removes the temp dir, and is safe to call twice")
    func stopCleansUp() throws {
        let server = try RedisServer()
        let pid = try #require(server.pid)
        let port = try #require(server.port)
        let directory = server.directory
        #expect(FileManager.default.fileExists(atPath: directory))

        server.stop()
        #expect(server.pid == nil)
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "pid \(pid) is gone")
        #expect(!FileManager.default.fileExists(atPath: directory))
        let error = try #require(throws: RedisError.self) { try RedisConnection(endpoint: .tcp(port: port)) }
        #expect(error.code == .cannotConnect)
        server.stop()
    }

    @Test("releasing the server stops it too")
    func releaseStops() throws {
        var pid: Int32 = 0
        var directory = ""
        do {
            let server = try RedisServer()
            pid = try #require(server.pid)
            directory = server.directory
        }
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "pid \(pid) is gone")
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test("a watchdog runs beside each server; stop(), kill() and restart() disarm it, so it never removes kept files")
    func watchdogFollowsTheServer() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let watchdog = try #require(server.watchdogPID)
        #expect(kill(watchdog, 0) == 0, "the watchdog runs")
        let command = TextFile.read("/proc/\(watchdog)/cmdline").split(separator: "\0").map(String.init)
        #expect(command.contains("stocksim-redis-watchdog"))
        #expect(command.suffix(2) == [String(try #require(server.pid)), server.directory], "it guards this server")

        // kill() keeps the files: the watchdog was told the owner is stopping the server, not that the owner died.
        server.kill()
        #expect(server.watchdogPID == nil)
        #expect(kill(watchdog, 0) == -1 && errno == ESRCH, "the watchdog was reaped")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(FileManager.default.fileExists(atPath: server.directory + "/redis.conf"))

        try server.restart()
        let second = try #require(server.watchdogPID)
        #expect(second != watchdog && kill(second, 0) == 0, "a restarted server has a watchdog of its own")
        server.stop()
        #expect(kill(second, 0) == -1 && errno == ESRCH)
    }

    @Test("a missing executable is a clear error with notInstalled == true")
    func missingExecutable() throws {
        let error = try #require(throws: RedisServer.StartError.self) {
            try RedisServer(.init(executable: "no-such-redis-server"))
        }
        #expect(error.notInstalled)
        #expect(error.message.contains("no-such-redis-server"))
        #expect(error.message.contains("apt-get install redis-server"))
    }

    @Test("a server that refuses its configuration is an error quoting its log, not notInstalled")
    func badConfiguration() throws {
        let error = try #require(throws: RedisServer.StartError.self) {
            try RedisServer(.init(extraConfiguration: ["no-such-directive yes"], startTimeout: .seconds(5)))
        }
        #expect(!error.notInstalled)
        #expect(error.message.contains("no-such-directive"), "\(error.message)")
    }

    @Test("appendOnlyAlways keeps every acknowledged write across restart() and across a crash")
    func appendOnlyAlwaysPersists() throws {
        let server = try RedisServer(.init(persistence: .appendOnlyAlways))
        defer { server.stop() }
        let key = uniqueKey()
        let port = server.port

        try RedisConnection(endpoint: server.endpoint).send(RedisCommand("SET", key: key, "1"))
        try server.restart()
        #expect(server.port == port)
        let afterRestart = try RedisConnection(endpoint: server.endpoint)
        #expect(try afterRestart.send(RedisCommand("GET", key: key)) == .bulkString("1"))

        try afterRestart.send(RedisCommand("INCR", key: key))
        server.kill()
        try server.restart()
        #expect(try RedisConnection(endpoint: server.endpoint).send(RedisCommand("GET", key: key)) == .bulkString("2"))
    }

    @Test("restart() returns only once the data is loaded, with or without a password", arguments: [nil, "s3cret"])
    func restartWaitsForLoading(password: String?) throws {
        let server = try RedisServer(.init(password: password, persistence: .appendOnlyAlways))
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let prefix = uniqueKey()
        // Enough keys that loading the append-only file takes a while, written in one script (one fsync).
        let keys: Int64 = 200_000
        try connection.send(
            "EVAL", "for i = 1, tonumber(ARGV[1]) do redis.call('SET', KEYS[1] .. i, i) end", 1, RedisArgument(prefix),
            RedisArgument(keys))

        try server.restart()
        let afterRestart = try RedisConnection(endpoint: server.endpoint)
        #expect(try afterRestart.send("DBSIZE") == .integer(keys))
    }

    @Test("without persistence a restart starts empty (so the test above can tell)")
    func noPersistenceLosesData() throws {
        let server = try RedisServer(.init(persistence: .none))
        defer { server.stop() }
        let key = uniqueKey()

        try RedisConnection(endpoint: server.endpoint).send(RedisCommand("SET", key: key, "1"))
        try server.restart()
        #expect(try RedisConnection(endpoint: server.endpoint).send(RedisCommand("GET", key: key)) == .null)
    }

    @Test("a restart that fails (the port was taken meanwhile) says why and leaves no stale pid behind")
    func failedRestart() throws {
        let server = try RedisServer(.init(startTimeout: .seconds(5)))
        defer { server.stop() }
        let port = try #require(server.port)
        server.kill()

        let squatter = try LoopbackListener(port: port)
        defer { squatter.close() }
        let error = try #require(throws: RedisServer.StartError.self) { try server.restart() }
        #expect(!error.notInstalled)
        #expect(error.message.contains("Address already in use"), "\(error.message)")
        #expect(server.pid == nil, "no server runs, so there is no pid to signal")

        squatter.close()
        try server.restart()
        let pid = try #require(server.pid)
        #expect(kill(pid, 0) == 0)
        #expect(try RedisConnection(endpoint: server.endpoint).send("PING") == .status("PONG"))
    }

    /// The port was free when it was chosen, but another redis-server took it before this one could bind it: the
    /// other answers PING on the port while this one exits with "Address already in use". Adopting it would make
    /// every caller write to a server nobody here started.
    @Test("a start whose port another redis-server took fails; it never adopts the server that answers there")
    func neverAdoptsAnotherServer() throws {
        let server = try RedisServer(.init(startTimeout: .seconds(5)))
        defer { server.stop() }
        let port = try #require(server.port)
        server.kill()

        // Its dir: the stopped server's, which stays until stop().
        let other = try ChildProcess.spawn(
            "redis-server",
            arguments: [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                server.directory, "--dbfilename", "other.rdb",
            ], stdout: .devNull, stderr: .devNull)
        defer {
            other.signal(SIGKILL)
            other.wait()
        }
        let answering = try #require(
            try waitForServer(port: port), "the other redis-server answers on \(port)")
        #expect(processID(answering) == other.pid)

        let error = try #require(throws: RedisServer.StartError.self) { try server.restart() }
        #expect(error.message.contains("Address already in use"), "\(error.message)")
        #expect(server.pid == nil)
        let info = try RedisConnection(endpoint: .tcp(host: "127.0.0.1", port: port)).send("INFO", "server")
        #expect(processID(info) == other.pid, "the other server is untouched")
    }

    private func processID(_ info: RedisReply) -> Int32? { info.infoField("process_id").flatMap { Int32($0) } }

    @Test("a configuration that disables INFO still starts: the PING stands when the server cannot say who it is")
    func startsWithoutInfo() throws {
        let server = try RedisServer(.init(extraConfiguration: ["rename-command INFO \"\""]))
        defer { server.stop() }
        #expect(try RedisConnection(endpoint: server.endpoint).send("PING") == .status("PONG"))
    }

    /// `INFO server` of whatever answers on `port`, within 5 s.
    private func waitForServer(port: Int) throws -> RedisReply? {
        for _ in 0..<500 {
            if let connection = try? RedisConnection(endpoint: .tcp(host: "127.0.0.1", port: port)),
                let info = try? connection.send("INFO", "server")
            {
                return info
            }
            usleep(10_000)
        }
        return nil
    }

    #if os(Linux)
    @Test("a server inherits none of this process's sockets, so closing a connection really ends it")
    func inheritsNoDescriptors() throws {
        let first = try RedisServer()
        defer { first.stop() }
        let admin = try RedisConnection(endpoint: first.endpoint)
        let connection = try RedisConnection(endpoint: first.endpoint)
        let id = try #require(try connection.send("CLIENT", "ID").int)
        let descriptor = try #require(connection.fileDescriptor)
        let socket = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)")

        // Started while the connection is open.
        let second = try RedisServer()
        defer { second.stop() }
        let pid = try #require(second.pid)
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
        }
        #expect(!held.contains(socket), "redis-server \(pid) holds this process's \(socket)")

        connection.close()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(3)
        var clients = ""
        repeat {
            clients = try #require(try admin.send("CLIENT", "LIST").string)
            if !clients.contains("id=\(id) ") { break }
            usleep(10_000)
        } while clock.now < deadline
        #expect(!clients.contains("id=\(id) "), "the first server still sees the closed connection: \(clients)")
    }
    #endif

    @Test("a password server: its endpoint and URL carry the password")
    func passwordServer() throws {
        let server = try RedisServer(.init(password: "a b\"c"))
        defer { server.stop() }

        #expect(server.endpoint.password == "a b\"c")
        #expect(try RedisConnection(endpoint: server.endpoint).send("ACL", "WHOAMI") == .bulkString("default"))
        #expect(try RedisConnection(url: server.url).send("PING") == .status("PONG"))
    }
}
