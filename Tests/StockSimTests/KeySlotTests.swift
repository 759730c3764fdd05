import EmbeddedRedis
import Foundation
import Hiredis
import Testing

@testable import StockSim

/// Every key StockSim derives from `--key` lands in the slot Redis itself computes for the stock key (or, in a
/// catalog, for the group's keys), whatever braces the key holds: checked with `CLUSTER KEYSLOT` on a server with
/// `cluster-enabled yes`.
@Suite("derived keys share the stock key's slot", .serialized)
struct KeySlotTests {
    static let awkwardKeys = [
        "stock:count", "{shop}:stock", "{}stock", "stock}", "{stock", "}stock{", "a}b", "a{b}c", "{a{b}c}", "{{a}}",
        "{}", "{}{x}", "x{}y}", "}", "{", "%7D}", "stock:{count}:{x}", "ab{}}cd", "",
    ]

    /// Keys of 0–8 characters drawn mostly from braces.
    static func randomKeys(count: Int) -> [String] {
        let alphabet = Array("{}{}ab:%~")
        return (0..<count).map { _ in String((0..<Int.random(in: 0...8)).map { _ in alphabet.randomElement() ?? "a" }) }
    }

    @Test func everyDerivedKeyHashesToItsStockKeysSlot() throws {
        let server = try SlotTests.oneNodeCluster()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        // Every set of keys that must share one slot, named for the message; asked in one pipeline.
        var sets: [(name: String, keys: [String])] = []
        for key in Self.awkwardKeys + Self.randomKeys(count: 200) {
            let single = StockKeys(stock: key)
            sets.append(("key '\(key)'", [key, single.ledger, single.run]))
            let one = CatalogLayout(key: key, skus: 1, groups: 1)
            sets.append(
                ("key '\(key)' as a catalog of one", [one.stockKey(0), one.ledgerKey(group: 0), one.runKey(group: 0)]))
            let layout = CatalogLayout(key: key, skus: 6, groups: 3)
            for group in 0..<layout.groups {
                sets.append(
                    (
                        "key '\(key)', group \(group)",
                        layout.skus(in: group).map(layout.stockKey) + [
                            layout.ledgerKey(group: group), layout.runKey(group: group),
                        ]
                    ))
            }
        }
        let replies = try connection.pipeline(
            sets.flatMap(\.keys).map { RedisCommand("CLUSTER", "KEYSLOT", RedisArgument($0)) })
        var slots = replies.map { $0.int ?? -1 }[...]
        for set in sets {
            let these = slots.prefix(set.keys.count)
            slots = slots.dropFirst(set.keys.count)
            #expect(!these.contains(-1) && Set(these).count == 1, "\(set.name): \(set.keys) in slots \(Array(these))")
        }
    }

    @Test func keysWithoutBracesKeepTheirNames() {
        #expect(StockKeys(stock: "stock:count").ledger == "{stock:count}:ledger")
        #expect(StockKeys(stock: "{shop}:stock").run == "{shop}:stock:run")
        #expect(CatalogLayout(key: "stock:count", skus: 4, groups: 2).stockKey(3) == "{stock:count:g1}:sku:3")
        // Two keys that differ only by their braces keep apart.
        #expect(StockKeys(stock: "a}b").ledger != StockKeys(stock: "a%7Db").ledger)
        #expect(
            CatalogLayout(key: "a}b", skus: 2, groups: 1).ledgerKey(group: 0)
                != CatalogLayout(key: "a%7Db", skus: 2, groups: 1).ledgerKey(group: 0))
    }

    /// The proof that a key with a `}` and no tag always finds five hex digits for its slot: CRC16 is linear, so
    /// `crc16(prefix + s)` is `crc16(s)` XOR a constant of the prefix, and the five-digit strings alone reach every slot.
    @Test func fiveHexDigitsReachEverySlot() {
        var reached = Set<Int>()
        for n in 0..<0x10_0000 {
            let digits = String(n, radix: 16)
            let text = String(repeating: "0", count: 5 - digits.count) + digits
            reached.insert(Int(HashSlot.crc16(Array(text.utf8)) & 0x3FFF))
        }
        #expect(reached.count == HashSlot.count)
    }
}

@Suite("run ids")
struct RunIDTests {
    @Test func aRunIDIsAlwaysEightHexDigits() {
        #expect(Simulation.runID(0) == "00000000")
        #expect(Simulation.runID(0xabc) == "00000abc")
        #expect(Simulation.runID(UInt32.max) == "ffffffff")
    }
}
