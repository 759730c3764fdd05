import EmbeddedRedis
import Hiredis
import Testing

@Suite("Endpoint URLs")
struct EndpointTests {
    @Test(
        "a well-formed URL parses into its address, credentials and database",
        arguments: [
            ("redis://localhost", RedisEndpoint.tcp(host: "localhost", port: 6379)),
            ("redis://cache.internal:6380/5", .tcp(host: "cache.internal", port: 6380, database: 5)),
            ("redis://:s3cret@localhost", .tcp(host: "localhost", password: "s3cret")),
            ("redis://s3cret@localhost", .tcp(host: "localhost", password: "s3cret")),
            (
                "redis://trader:s3cret@10.0.0.7:7000/2",
                .tcp(host: "10.0.0.7", port: 7000, user: "trader", password: "s3cret", database: 2)
            ),
            ("redis://:p%40ss@localhost", .tcp(host: "localhost", password: "p@ss")),
            ("redis://trader:p%40ss%3A%2F@localhost", .tcp(host: "localhost", user: "trader", password: "p@ss:/")),
            ("redis://[::1]:6380", .tcp(host: "::1", port: 6380)),
            ("redis://[::1]", .tcp(host: "::1", port: 6379)),
            ("REDIS://localhost:6390", .tcp(host: "localhost", port: 6390)),
            ("unix:///path/to/redis.sock", .unix(path: "/path/to/redis.sock")),
            ("unix:///path?db=3", .unix(path: "/path", database: 3)),
            ("unix:///run/r.sock?db=1&password=p%40ss", .unix(path: "/run/r.sock", password: "p@ss", database: 1)),
        ])
    func parses(url: String, expected: RedisEndpoint) throws {
        #expect(try RedisEndpoint(url: url) == expected)
    }

    @Test(
        "a malformed URL is refused with .invalidEndpoint and a message naming the bad part",
        arguments: [
            ("localhost:6379", "no scheme"),
            ("http://localhost", "unknown scheme 'http'"),
            ("rediss://localhost", "TLS"),
            ("redis://h:99999", "port '99999'"),
            ("redis://h:abc", "port 'abc'"),
            ("redis://h:", "port ''"),
            ("redis://h/x", "database 'x'"),
            ("redis://h/-1", "database '-1'"),
            ("redis://[::1", "no closing ']'"),
            ("redis://[::1]x", "unexpected 'x'"),
            ("redis://", "host is missing"),
            ("redis://:pw@:6379", "host is missing"),
            ("redis://bad host", "'bad host' is not a valid host name"),
            ("redis://h?db=1", "query"),
            ("unix://relative/redis.sock", "must be absolute"),
            ("unix://", "must be absolute"),
            ("unix:///tmp/r.sock?db=x", "database 'x'"),
            ("unix:///tmp/r.sock?color=red", "unknown query item 'color'"),
            ("redis://:p%zz@localhost", "password has a bad percent-escape"),
            ("redis://u%4:pw@localhost", "user name has a bad percent-escape"),
            ("redis://:100%@localhost", "percent-encode it (%40, %25"),
            ("redis://:p@ss/word@localhost", "percent-encode it (%40, %25"),
            ("redis://:p#ss@localhost", "percent-encode it (%40, %25"),
        ])
    func refuses(url: String, fragment: String) throws {
        let error = try #require(throws: RedisError.self) { try RedisEndpoint(url: url) }
        #expect(error.code == .invalidEndpoint)
        #expect(error.message.contains(fragment), "\(error.message)")
        #expect(error.message.contains("'\(url)'"), "the message quotes the URL: \(error.message)")
    }

    @Test("rediss:// is refused because libhiredis 0.14 has no TLS")
    func refusesTLS() throws {
        let error = try #require(throws: RedisError.self) { try RedisEndpoint(url: "rediss://cache:6380") }
        #expect(error.code == .invalidEndpoint)
        #expect(error.message.contains("TLS"))
        #expect(error.message.contains("libhiredis 0.14"))
    }

    @Test("description masks the password and keeps everything else")
    func descriptionMasksPassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://trader:s3cret@cache:7000/2")
        #expect(endpoint.description == "redis://trader:***@cache:7000/2")
        #expect(try RedisEndpoint(url: "redis://:s3cret@cache").description == "redis://:***@cache:6379")
        #expect(try RedisEndpoint(url: "unix:///r.sock?db=3&password=s3cret").description == "unix://:***@/r.sock?db=3")
        #expect(try RedisEndpoint(url: "redis://[::1]:6380").description == "redis://[::1]:6380")
        for url in ["redis://trader:s3cret@cache:7000/2", "redis://:s3cret@cache", "unix:///r.sock?password=s3cret"] {
            let endpoint = try RedisEndpoint(url: url)
            #expect(!endpoint.description.contains("s3cret"))
            #expect(!endpoint.addressDescription.contains("s3cret"))
        }
    }

    @Test(
        "a parsed IPv6 URL connects to a server listening on ::1",
        .enabled(if: ipv6LoopbackAvailable, "this machine has no IPv6 loopback"))
    func connectsOverIPv6() throws {
        let server = try RedisServer(.init(extraConfiguration: ["bind 127.0.0.1 ::1"]))
        defer { server.stop() }
        let port = try #require(server.port)
        let connection = try RedisConnection(url: "redis://[::1]:\(port)")
        #expect(try connection.send("PING") == .status("PONG"))
        let info = try #require(try connection.send("CLIENT", "INFO").string)
        #expect(info.contains("laddr=[::1]:\(port)"), "\(info)")
    }

    @Test("a parsed unix URL with ?db= connects over the socket and selects that database")
    func connectsOverUnixURLWithDatabase() throws {
        let server = try RedisServer(.init(unixSocket: true))
        defer { server.stop() }
        let connection = try RedisConnection(url: server.url + "?db=3")
        let info = try #require(try connection.send("CLIENT", "INFO").string)
        #expect(info.contains(" db=3 "), "\(info)")
    }
}
