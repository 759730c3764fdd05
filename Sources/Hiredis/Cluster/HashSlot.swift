/// One of Redis Cluster's 16384 hash slots: `CRC16(key) mod 16384`, where only the key's hash tag is hashed when it
/// has one.
///
/// The hash-tag rule is Redis's exactly: find the first `{`; then the first `}` after it; when there is at least one
/// byte between them, only those bytes are hashed (`{user1000}.following` and `{user1000}.followers` share a slot).
/// Otherwise (no `{`, no `}` after it, or `{}`) the whole key is hashed, braces included.
public struct HashSlot: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The number of hash slots in a Redis Cluster.
    public static let count = 16384

    /// The slot number, in `0 ..< 16384`.
    public let rawValue: Int

    /// A slot by number.
    ///
    /// - Parameter rawValue: the slot number; `nil` outside `0 ..< 16384`.
    public init?(_ rawValue: Int) {
        guard (0..<Self.count).contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// The slot a key (as bytes) hashes to.
    ///
    /// - Parameter key: the key's bytes.
    public init(key: some Collection<UInt8>) {
        rawValue = Int(Self.crc16(Self.hashTag(of: key)) & UInt16(Self.count - 1))
    }

    /// The slot a key (as UTF-8) hashes to.
    ///
    /// - Parameter key: the key.
    public init(key: String) {
        self.init(key: Array(key.utf8))
    }

    /// The slot a key hashes to; the same as ``init(key:)-(Collection<UInt8>)``.
    ///
    /// - Parameter key: the key's bytes.
    public static func of(_ key: some Collection<UInt8>) -> HashSlot { HashSlot(key: key) }

    /// The part of `key` that Redis hashes: the hash tag when the key has a non-empty one, else the whole key.
    ///
    /// - Parameter key: the key's bytes.
    /// - Returns: a slice of `key`.
    public static func hashTag<Key: Collection<UInt8>>(of key: Key) -> Key.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else { return key[...] }
        let afterOpen = key.index(after: open)
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else {
            return key[...]
        }
        return key[afterOpen..<close]
    }

    /// The hash tag of a UTF-8 key, as text.
    ///
    /// - Parameter key: the key.
    public static func hashTag(of key: String) -> String {
        String(decoding: hashTag(of: Array(key.utf8)), as: UTF8.self)
    }

    /// CRC16-CCITT in its XMODEM form (polynomial 0x1021, initial value 0, no reflection), as Redis uses it:
    /// `crc16("123456789") == 0x31C3`.
    ///
    /// - Parameter bytes: the bytes to checksum.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ crcTable[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// One entry per leading byte: the CRC of that byte shifted through the polynomial eight times.
    private static let crcTable: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { String(rawValue) }
}
