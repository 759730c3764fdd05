import EmbeddedRedis
import Foundation
import Hiredis
import RedisTestSupport
import Spawn
import Testing

extension RedisClusterServer {
    /// A key of this test that hashes to a slot `node` serves now (found by trying suffixes), so a test can place its
    /// keys on the master it wants.
    func key(on node: Node, _ label: String = #function) throws -> String {
        let map = try slotMap()
        for _ in 0..<100_000 {
            let key = uniqueKey(label)
            if map.master(for: HashSlot(key: HashSlot.hashTag(of: key)))?.port == node.port { return key }
        }
        throw RedisClusterServer.OperationError(message: "no key found on \(node)")
    }

    /// How many times `node` has answered with the error `code` (`INFO errorstats`), read on a connection of its
    /// own, so that another thread can see a test's call meet that error.
    func errorReplies(_ code: String, from node: Node) -> Int {
        guard let info = try? connection(node).send("INFO", "errorstats").string else { return 0 }
        let prefix = "errorstat_\(code):count="
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            return Int(line.dropFirst(prefix.count)) ?? 0
        }
        return 0
    }

    /// A running master other than `node`.
    func master(otherThan node: Node) throws -> Node {
        try #require(try masters().first { $0.id != node.id })
    }
}

/// `redis-cli -c -p PORT ARGS...`: an independent cluster client, for checking what the cluster really holds. Spawned
/// with Spawn, not Foundation's `Process`, whose `run()` leaks a weak reference that LeakSanitizer reports.
func redisCLI(port: Int, password: String? = nil, _ arguments: String...) throws -> String {
    let directory = FileManager.default.temporaryDirectory.path + "/stocksim-redis-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let output = directory + "/output"
    let child = try ChildProcess.spawn(
        "/usr/bin/redis-cli",
        arguments: ["-c", "-h", "127.0.0.1", "-p", String(port)]
            + (password.map { ["-a", $0, "--no-auth-warning"] } ?? []) + arguments,
        environment: [], stdout: .file(output), stderr: .file(output), processGroup: nil)
    _ = child.wait()
    return TextFile.read(output).trimmingCharacters(in: .whitespacesAndNewlines)
}
