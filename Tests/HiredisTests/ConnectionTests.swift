import EmbeddedRedis
import Hiredis
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Connection basics")
struct ConnectionTests {
    @Test("connects over TCP by endpoint and by URL")
    func connectsOverTCP() throws {
        let server = try RedisServer()
        defer { server.stop() }

        let byEndpoint = try RedisConnection(endpoint: server.endpoint)
        #expect(byEndpoint.isConnected)
        #expect(byEndpoint.fileDescriptor != nil)
        #expect(try byEndpoint.send("PING") == .status("PONG"))
        let byURL = try RedisConnection(url: server.url)
        #expect(try byURL.send("ECHO", "hello") == .bulkString("hello"))
    }

    #if os(Linux)
    @Test(
        "keepAlive turns on TCP keepalive probes on the socket; without it the socket has none",
        arguments: [true, false])
    func keepAliveIsSetOnTheSocket(keepAlive: Bool) throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint, options: .init(keepAlive: keepAlive))
        let descriptor = try #require(connection.fileDescriptor)
        func option(_ level: Int32, _ name: Int32) -> Int32 {
            var value: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            return getsockopt(descriptor, level, name, &value, &length) == 0 ? value : -1
        }
        #expect(option(SOL_SOCKET, SO_KEEPALIVE) == (keepAlive ? 1 : 0))
        if keepAlive {
            // hiredis's interval: the first probe after 15 s of silence, then every 5 s (15 / 3), 3 probes.
            #expect(option(Int32(IPPROTO_TCP), TCP_KEEPIDLE) == 15)
        }
        // The option survives a reconnect, which builds a new socket.
        try connection.reconnect()
        let again = try #require(connection.fileDescriptor)
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(again, SOL_SOCKET, SO_KEEPALIVE, &value, &length) == 0 && value == (keepAlive ? 1 : 0))
    }
    #endif

    @Test("connects over a unix socket")
    func connectsOverUnixSocket() throws {
        let server = try RedisServer(.init(unixSocket: true))
        defer { server.stop() }
        #expect(server.port == nil)
        guard case .unix(let path) = server.endpoint.address else {
            Issue.record("a unix-socket server has a unix endpoint, not \(server.endpoint)")
            return
        }
        #expect(path.hasPrefix(server.directory))

        let connection = try RedisConnection(endpoint: server.endpoint)
        #expect(try connection.send("PING") == .status("PONG"))
        let info = try #require(try connection.send("CLIENT", "INFO").string)
        #expect(info.contains("laddr=\(path)"), "the server sees a unix-socket client: \(info)")
        let byURL = try RedisConnection(url: server.url)
        #expect(try byURL.send("PING") == .status("PONG"))
    }

    @Test("close() closes the connection; commands then throw .misuse until reconnect()")
    func closeAndReconnect() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        try connection.send(RedisCommand("SET", key: key, "kept"))

        connection.close()
        #expect(!connection.isConnected)
        #expect(connection.fileDescriptor == nil)
        let error = try #require(throws: RedisError.self) { try connection.send("PING") }
        #expect(error.code == .misuse)
        #expect(error.message.contains("reconnect()"))

        try connection.reconnect()
        #expect(connection.isConnected)
        #expect(try connection.send(RedisCommand("GET", key: key)) == .bulkString("kept"))
    }

    @Test("reconnect() replaces a live connection with a new one")
    func reconnectWhileConnected() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let before = try #require(try connection.send("CLIENT", "ID").int)

        try connection.reconnect()
        let after = try #require(try connection.send("CLIENT", "ID").int)
        #expect(after != before)
        let clients = try #require(try connection.send("CLIENT", "LIST").string)
        #expect(!clients.contains("id=\(before) "), "the old connection was closed: \(clients)")
    }

    @Test("an empty command throws .misuse and the connection stays usable")
    func emptyCommand() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)

        let empty = try #require(throws: RedisError.self) { try connection.send(RedisCommand([])) }
        #expect(empty.code == .misuse)
        let emptyName = try #require(throws: RedisError.self) { try connection.send(RedisCommand("")) }
        #expect(emptyName.code == .misuse)
        #expect(try connection.send("PING") == .status("PONG"))
    }

    @Test("the connect timeout does not limit how long a reply may take")
    func connectTimeoutIsNotACommandTimeout() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(
            endpoint: server.endpoint, options: .init(connectTimeout: .milliseconds(200), commandTimeout: nil))

        // BLPOP blocks for 1 s on an empty list, five times the connect timeout.
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try connection.send(RedisCommand("BLPOP", key: uniqueKey(), 1)) == .null)
        #expect(clock.now - start >= .milliseconds(900))
        #expect(connection.isConnected)
    }
}
