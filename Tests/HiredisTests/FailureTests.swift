import EmbeddedRedis
import Hiredis
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Failures: timeouts, refused connections, a server that dies")
struct FailureTests {
    @Test("a reply slower than the command timeout throws .timeout, closes the connection, and reconnect() recovers")
    func commandTimeout() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(
            endpoint: server.endpoint, options: .init(commandTimeout: .milliseconds(200)))
        let admin = try RedisConnection(endpoint: server.endpoint)
        #expect(try connection.send("PING") == .status("PONG"))

        let pauseMilliseconds = 2000
        try admin.send("CLIENT", "PAUSE", RedisArgument(pauseMilliseconds), "ALL")
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: RedisError.self) { try connection.send("PING") }
        let elapsed = clock.now - start

        #expect(error.code == .timeout)
        #expect(error.closesConnection)
        #expect(error.message.contains("command timeout"))
        #expect(elapsed >= .milliseconds(180), "waited the timeout, \(elapsed)")
        #expect(elapsed < .milliseconds(1500), "did not wait for the pause to end, \(elapsed)")
        #expect(!connection.isConnected)

        let closed = try #require(throws: RedisError.self) { try connection.send("PING") }
        #expect(closed.code == .misuse)
        #expect(closed.message.contains("call reconnect()"), "\(closed.message)")

        // The admin's own PING is held until the pause ends.
        #expect(try admin.send("PING") == .status("PONG"))
        #expect(clock.now - start >= .milliseconds(pauseMilliseconds - 100))
        try connection.reconnect()
        #expect(connection.isConnected)
        #expect(try connection.send("PING") == .status("PONG"))
    }

    @Test("connecting to a loopback port nobody listens on throws .cannotConnect naming the address")
    func connectionRefused() throws {
        let port = RedisServer.freeLoopbackPort()
        try #require(port > 0)

        let error = try #require(throws: RedisError.self) {
            try RedisConnection(endpoint: .tcp(host: "127.0.0.1", port: port))
        }
        #expect(error.code == .cannotConnect)
        #expect(error.message.contains("127.0.0.1:\(port)"), "\(error.message)")
        #expect(error.message.contains("refused"), "\(error.message)")
        #expect(error.errno == ECONNREFUSED)
    }

    @Test("connecting to a socket path that does not exist throws .cannotConnect naming the path")
    func missingUnixSocket() throws {
        let path = "/tmp/hiredis-tests-\(UInt32.random(in: .min ... .max))/redis.sock"
        let error = try #require(throws: RedisError.self) { try RedisConnection(endpoint: .unix(path: path)) }
        #expect(error.code == .cannotConnect)
        #expect(error.message.contains(path))
    }

    /// A connect that never completes, without sending a packet off this machine: a loopback listener whose accept
    /// queue is full makes the kernel drop further SYNs, so the client waits until its own timeout.
    @Test("a connect that does not complete in time throws .cannotConnect saying it timed out")
    func connectTimeout() throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        try listener.fillAcceptQueue()

        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: RedisError.self) {
            try RedisConnection(
                endpoint: .tcp(host: "127.0.0.1", port: listener.port),
                options: .init(connectTimeout: .milliseconds(300)))
        }
        let elapsed = clock.now - start
        #expect(error.code == .cannotConnect)
        #expect(error.message.contains("127.0.0.1:\(listener.port)"))
        #expect(error.message.contains("timed out"), "\(error.message)")
        #expect(elapsed >= .milliseconds(250), "\(elapsed)")
        #expect(elapsed < .seconds(3), "\(elapsed)")
    }

    @Test("a server killed mid-session: .connectionLost, the dead context is never reused, reconnect() recovers")
    func serverKilled() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        try connection.send(RedisCommand("SET", key: key, "1"))

        server.kill()
        #expect(server.pid == nil)
        let error = try #require(throws: RedisError.self) { try connection.send(RedisCommand("GET", key: key)) }
        #expect(error.code == .connectionLost || error.code == .timeout, "\(error.code): \(error.message)")
        #expect(error.closesConnection)
        #expect(!connection.isConnected)
        #expect(connection.fileDescriptor == nil)
        #expect(connection.closingError == error)

        // Even with the server back, the manual policy keeps the connection closed: the old context is gone.
        try server.restart()
        let closed = try #require(throws: RedisError.self) { try connection.send("PING") }
        #expect(closed.code == .misuse)
        #expect(closed.message.contains("call reconnect()"))

        try connection.reconnect()
        #expect(connection.closingError == nil)
        #expect(try connection.send("PING") == .status("PONG"))
        #expect(try connection.send(RedisCommand("SET", key: key, "2")) == .status("OK"))
    }

    @Test("with reconnect: .onNextCommand the command after the break connects again; the failed one is not retried")
    func reconnectOnNextCommand() throws {
        let server = try RedisServer(.init(persistence: .appendOnlyAlways))
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint, options: .init(reconnect: .onNextCommand))
        let counter = uniqueKey()
        #expect(try connection.send(RedisCommand("INCR", key: counter)) == .integer(1))
        let firstID = try #require(try connection.send("CLIENT", "ID").int)

        // The server is back before the next command, so a silent retry on a new connection would succeed.
        server.kill()
        try server.restart()
        let lost = try #require(throws: RedisError.self) { try connection.send(RedisCommand("INCR", key: counter)) }
        #expect(lost.code == .connectionLost, "\(lost.code): \(lost.message)")
        #expect(!connection.isConnected)

        #expect(
            try connection.send(RedisCommand("GET", key: counter)) == .bulkString("1"), "the failed INCR did not run")
        #expect(connection.isConnected)
        #expect(try connection.send("CLIENT", "ID").int != firstID)

        // While the server is down, each command tries to connect again and says it could not.
        server.kill()
        #expect(throws: RedisError.self) { try connection.send("PING") }
        let down = try #require(throws: RedisError.self) { try connection.send("PING") }
        #expect(down.code == .cannotConnect, "\(down.code): \(down.message)")
        let stillDown = try #require(throws: RedisError.self) { try connection.send("PING") }
        #expect(stillDown.code == .cannotConnect)
        try server.restart()
        #expect(try connection.send("PING") == .status("PONG"))
    }

    @Test("a connection closed by the server (CLIENT KILL) reports .connectionLost")
    func closedByServer() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let admin = try RedisConnection(endpoint: server.endpoint)
        let id = try #require(try connection.send("CLIENT", "ID").int)

        #expect(try admin.send("CLIENT", "KILL", "ID", RedisArgument(id)) == .integer(1))
        let error = try #require(throws: RedisError.self) { try connection.send("PING") }
        #expect(error.code == .connectionLost, "\(error.code): \(error.message)")
        #expect(error.message.contains(server.endpoint.addressDescription))
        #expect(!connection.isConnected)
    }
}
