import EmbeddedRedis
import Hiredis
import Testing

@Suite("AUTH, ACL users and SELECT on connect")
struct AuthTests {
    @Test("the right password logs in, also when it needs percent-encoding in the URL")
    func rightPassword() throws {
        let password = "p@ss:w/rd%?"
        let server = try RedisServer(.init(password: password))
        defer { server.stop() }

        let byEndpoint = try RedisConnection(endpoint: server.endpoint)
        #expect(try byEndpoint.send("PING") == .status("PONG"))
        #expect(!server.url.contains(password), "the URL carries the password percent-encoded: \(server.url)")
        let byURL = try RedisConnection(url: server.url)
        #expect(try byURL.send("ACL", "WHOAMI") == .bulkString("default"))
    }

    @Test("without a password a command is refused with NOAUTH")
    func noPassword() throws {
        let server = try RedisServer(.init(password: "s3cret"))
        defer { server.stop() }
        let port = try #require(server.port)

        let connection = try RedisConnection(endpoint: .tcp(host: "127.0.0.1", port: port))
        let error = try #require(throws: RedisError.self) { try connection.send(RedisCommand("GET", key: uniqueKey())) }
        #expect(error.code == .serverError)
        #expect(error.reply?.code == "NOAUTH")
        #expect(connection.isConnected, "an error reply leaves the connection usable")
    }

    @Test("a wrong password fails on connect with .cannotConnect and WRONGPASS, without echoing the password")
    func wrongPassword() throws {
        let server = try RedisServer(.init(password: "s3cret"))
        defer { server.stop() }
        let port = try #require(server.port)

        let error = try #require(throws: RedisError.self) {
            try RedisConnection(endpoint: .tcp(host: "127.0.0.1", port: port, password: "guess-1234"))
        }
        #expect(error.code == .cannotConnect)
        #expect(error.reply?.code == "WRONGPASS")
        #expect(error.message.contains("127.0.0.1:\(port)"))
        #expect(error.message.contains("AUTH"))
        #expect(!error.message.contains("guess-1234"))
    }

    @Test("an ACL user logs in with redis://user:pass@host:port")
    func aclUser() throws {
        let server = try RedisServer(.init(users: [.init(name: "trader", password: "t-pass")]))
        defer { server.stop() }
        let port = try #require(server.port)

        let connection = try RedisConnection(url: "redis://trader:t-pass@127.0.0.1:\(port)")
        #expect(try connection.send("ACL", "WHOAMI") == .bulkString("trader"))
        let key = uniqueKey()
        try connection.send(RedisCommand("SET", key: key, "1"))
        #expect(try connection.send(RedisCommand("GET", key: key)) == .bulkString("1"))
    }

    @Test("an ACL user with a wrong password is refused on connect")
    func aclUserWrongPassword() throws {
        let server = try RedisServer(.init(users: [.init(name: "trader", password: "t-pass")]))
        defer { server.stop() }
        let port = try #require(server.port)

        let error = try #require(throws: RedisError.self) {
            try RedisConnection(url: "redis://trader:not-it@127.0.0.1:\(port)")
        }
        #expect(error.code == .cannotConnect)
        #expect(error.reply?.code == "WRONGPASS")
        #expect(!error.message.contains("not-it"))
    }

    @Test("an ACL user without permission for a command gets NOPERM; the commands it may run still work")
    func aclUserWithoutPermission() throws {
        let server = try RedisServer(.init(users: [.init(name: "reader", password: "r-pass", rules: "~* +get +ping")]))
        defer { server.stop() }
        let port = try #require(server.port)
        let key = uniqueKey()

        let reader = try RedisConnection(url: "redis://reader:r-pass@127.0.0.1:\(port)")
        let error = try #require(throws: RedisError.self) { try reader.send(RedisCommand("SET", key: key, "1")) }
        #expect(error.code == .serverError)
        #expect(error.reply?.code == "NOPERM")
        #expect(try reader.send(RedisCommand("GET", key: key)) == .null)
        #expect(try reader.send("PING") == .status("PONG"))
    }

    @Test("the database in the URL is selected on connect")
    func selectsDatabase() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let port = try #require(server.port)
        let key = uniqueKey()

        let onThree = try RedisConnection(url: "redis://127.0.0.1:\(port)/3")
        let info = try #require(try onThree.send("CLIENT", "INFO").string)
        #expect(info.contains(" db=3 "), "\(info)")
        try onThree.send(RedisCommand("SET", key: key, "on three"))

        let onZero = try RedisConnection(url: "redis://127.0.0.1:\(port)")
        #expect(try onZero.send(RedisCommand("GET", key: key)) == .null)
        let alsoOnThree = try RedisConnection(endpoint: .tcp(port: port, database: 3))
        #expect(try alsoOnThree.send(RedisCommand("GET", key: key)) == .bulkString("on three"))
    }

    @Test("password and database together: AUTH comes before SELECT")
    func passwordAndDatabase() throws {
        let server = try RedisServer(.init(password: "s3cret"))
        defer { server.stop() }

        let connection = try RedisConnection(url: server.url + "/5")
        let info = try #require(try connection.send("CLIENT", "INFO").string)
        #expect(info.contains(" db=5 "), "\(info)")
    }

    @Test("a database out of range fails on connect with a message that says so")
    func databaseOutOfRange() throws {
        let server = try RedisServer(.init(extraConfiguration: ["databases 4"]))
        defer { server.stop() }
        let port = try #require(server.port)

        #expect(throws: Never.self) { try RedisConnection(url: "redis://127.0.0.1:\(port)/3") }
        let error = try #require(throws: RedisError.self) { try RedisConnection(url: "redis://127.0.0.1:\(port)/4") }
        #expect(error.code == .cannotConnect)
        #expect(error.reply?.code == "ERR")
        #expect(error.message.contains("SELECT"))
        #expect(error.message.contains("out of range"), "\(error.message)")
        #expect(error.message.contains("database number"))
    }

    @Test("the client name from the options is set on connect")
    func clientName() throws {
        let server = try RedisServer(.init(password: "s3cret"))
        defer { server.stop() }

        let connection = try RedisConnection(endpoint: server.endpoint, options: .init(clientName: "stocksim-worker-7"))
        #expect(try connection.send("CLIENT", "GETNAME") == .bulkString("stocksim-worker-7"))
    }
}
