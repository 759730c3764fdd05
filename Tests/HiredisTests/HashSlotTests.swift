import EmbeddedRedis
import Hiredis
import Testing

@Suite("HashSlot: CRC16 and Redis's hash-tag rule")
struct HashSlotTests {
    @Test("CRC16 is the XMODEM variant: 123456789 checks to 0x31C3")
    func crc16Vector() {
        #expect(HashSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(HashSlot.crc16([]) == 0)
        #expect(HashSlot(key: "123456789").rawValue == 12739)
    }

    @Test(
        "slots of the documented keys",
        arguments: [
            ("foo", 12182), ("{}foo", 9500), ("foo{}", 5542), ("foo{}{bar}", 8363), ("{user1000}.following", 3443),
            ("{user1000}.followers", 3443), ("", 0),
        ])
    func knownSlots(key: String, slot: Int) {
        #expect(HashSlot(key: key).rawValue == slot)
        #expect(HashSlot.of(Array(key.utf8)) == HashSlot(key: key))
    }

    @Test(
        "the hash tag is what lies between the first { and the first } after it, when that is not empty",
        arguments: [
            ("foo", "foo"), ("{bar}foo", "bar"), ("foo{bar}", "bar"), ("{}foo", "{}foo"), ("foo{}{bar}", "foo{}{bar}"),
            ("foo{{bar}}zap", "{bar"), ("foo{bar}{zap}", "bar"), ("{", "{"), ("}{", "}{"), ("a{b", "a{b"),
            ("{a}}", "a"),
        ])
    func hashTags(key: String, tag: String) {
        #expect(HashSlot.hashTag(of: key) == tag)
        #expect(HashSlot(key: key) == HashSlot(key: tag))
    }

    @Test("slot numbers are checked")
    func slotRange() {
        #expect(HashSlot(0)?.rawValue == 0)
        #expect(HashSlot(16383)?.rawValue == 16383)
        #expect(HashSlot(16384) == nil)
        #expect(HashSlot(-1) == nil)
    }

    @Test("equals CLUSTER KEYSLOT of a real cluster node for 3000 random keys, braces of every kind included")
    func matchesClusterKeyslot() throws {
        let node = try RedisServer(.init(cluster: .init()))
        defer { node.stop() }
        let connection = try RedisConnection(endpoint: node.endpoint)
        var generator = SystemRandomNumberGenerator()
        // Mostly braces and a few letters, so empty, unbalanced and nested tags all come up often; some raw bytes.
        let alphabet = Array("{}{}ab1".utf8) + [0, 0xFF, UInt8(ascii: " ")]
        let keys: [[UInt8]] = (0..<3000).map { _ in
            (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? 0 }
        }
        let replies = try connection.pipeline(keys.map { RedisCommand("CLUSTER", "KEYSLOT", .bytes($0)) })
        var mismatches: [String] = []
        for (key, reply) in zip(keys, replies) where reply.int != Int64(HashSlot(key: key).rawValue) {
            mismatches.append("\(key): Redis \(reply), ours \(HashSlot(key: key))")
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(keys.contains { HashSlot.hashTag(of: $0).count != $0.count }, "some keys had a hash tag")
    }
}
