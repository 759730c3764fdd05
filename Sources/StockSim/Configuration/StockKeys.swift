import Foundation
import Hiredis

/// The keys of one stock key, all in its Redis Cluster hash slot: a single-key run's keys.
///
/// For `stock:count`: the ledger is `{stock:count}:ledger` and the run metadata `{stock:count}:run`. A key that
/// already has a hash tag (`{shop}:stock`) keeps it: `{shop}:stock:ledger`. A key whose braces make no tag of it
/// (`stock}`, `{}stock`) gets a tag of its slot (``slotPrefix(of:)``).
public struct StockKeys: Sendable, Hashable, Codable {
    public let stock: String
    /// A hash: order id → units. HSETNX makes a membership check O(1) and a second write of an id a no-op.
    public let ledger: String
    /// A hash of run metadata, including `ledger_writes`: every attempt to record an order, so that
    /// `ledger_writes − HLEN ledger` counts order ids recorded more than once.
    public let run: String

    init(stock: String, ledger: String, run: String) {
        self.stock = stock
        self.ledger = ledger
        self.run = run
    }

    /// The keys of `stock`, its ledger and run hash in its hash slot (see ``slotPrefix(of:)``).
    public init(stock: String) {
        self.stock = stock
        let prefix = Self.slotPrefix(of: stock)
        ledger = "\(prefix):ledger"
        run = "\(prefix):run"
    }

    /// The start of every key derived from `stock`, chosen so that `PREFIX:anything` hashes to `stock`'s Redis
    /// Cluster slot under Redis's hash-tag rule (`HashSlot.hashTag(of:)`):
    ///
    /// - a key with a hash tag (`{shop}:stock`) is its own prefix: `{shop}:stock:ledger` has the same first `{…}`;
    /// - a key with none and no `}` in it (`stock:count`, `{stock`) is wrapped whole: `{stock:count}`, whose tag is
    ///   the key itself;
    /// - a key with no valid tag but a `}` in it (`stock}`, `{}stock`, `a}b`, or the empty key) cannot be a tag, since
    ///   a tag ends at its first `}`: its prefix is `{ESCAPED~NNNNN}`, the key with `%` and `}` percent-encoded, then
    ///   five hex digits NNNNN chosen so that the tag hashes to the key's slot. Such digits always exist: CRC16 is linear,
    ///   so `crc16(p + s) = crc16(p + zeros) ^ crc16(s)`, and the five-hex-digit strings `s` alone already reach every
    ///   one of the 16384 slots (a test checks it).
    static func slotPrefix(of stock: String) -> String {
        let bytes = Array(stock.utf8)
        if HashSlot.hashTag(of: bytes).count != bytes.count { return stock }
        if !bytes.isEmpty, !bytes.contains(UInt8(ascii: "}")) { return "{\(stock)}" }
        let target = UInt16(HashSlot(key: bytes).rawValue)
        let prefix = Array("\(escapedForTag(stock))~".utf8)
        // By linearity, crc16(prefix + digits) = crc16(prefix + five zero bytes) ^ crc16(digits).
        let base = HashSlot.crc16(prefix + [0, 0, 0, 0, 0])
        let digits = Self.digitsBySlot[Int((base ^ target) & 0x3FFF)]
        return "{" + String(decoding: prefix + digits, as: UTF8.self) + "}"
    }

    /// For every value of the low 14 bits of a CRC16, the first five hex digits whose CRC16 has it (a test checks
    /// that there is one for each): built once, on the first key that needs it.
    private static let digitsBySlot: [[UInt8]] = {
        let hex = Array("0123456789abcdef".utf8)
        var table = [[UInt8]](repeating: [], count: HashSlot.count)
        var found = 0
        for n in 0..<0x10_0000 where found < HashSlot.count {
            let digits = (0..<5).map { hex[(n >> (4 * (4 - $0))) & 0xF] }
            let slot = Int(HashSlot.crc16(digits) & 0x3FFF)
            if table[slot].isEmpty {
                table[slot] = digits
                found += 1
            }
        }
        return table
    }()

    /// `key` with `%` and `}` percent-encoded, so that it can stand inside a hash tag and two keys stay apart.
    /// Keys with neither are left as they are.
    static func escapedForTag(_ key: String) -> String {
        key.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "}", with: "%7D")
    }

}
