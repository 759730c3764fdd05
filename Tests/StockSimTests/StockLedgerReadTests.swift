import EmbeddedRedis
import Hiredis
import Testing

@testable import StockSim

/// The audit's read of a single key's ledger, whose own entries are counted from the reply's bytes: the same verdict
/// per entry as the general path (`Int(_:)` of the value), beside entries that take the general path.
@Suite("reading a ledger back")
struct StockLedgerReadTests {
    @Test("own entries, malformed values, a user script's ORDER|KEY entries and odd fields are each counted as before")
    func everyKindOfEntry() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let layout = CatalogLayout(key: "ledger-read:\(UInt32.random(in: .min ... .max))", skus: 1, groups: 1)
        let key = layout.stockKey(0)
        let entries: [(String, String)] = [
            ("a", "2"), ("b", "+3"), ("c", "0"), ("d", "-1"), ("e", "abc"), ("f", ""), ("g", "99999999999999999999"),
            ("h", "4 "), ("ordé", "1"), ("x|y", "1"), ("o9|\(key)", "4/1"), ("p|\(key)", "2/2"),
        ]
        try connection.send(
            RedisCommand(
                [RedisArgument("HSET"), RedisArgument(layout.ledgerKey(group: 0))]
                    + entries.flatMap { [RedisArgument($0.0), RedisArgument($0.1)] }))
        // What the general path makes of each own entry: a positive `Int` or malformed.
        let ownMalformed = entries.prefix(8).filter { (Int($0.1) ?? 0) <= 0 }.count
        #expect(ownMalformed == 6)

        let contents = try StockLedger(layout: layout).read(on: connection)
        #expect(contents.fields == entries.count)
        #expect(contents.malformed == ownMalformed)
        #expect(contents.units == 2 + 3 + 1 + 1 + 4 + 2)
        #expect(contents.unitsBySKU == [13])
        #expect(contents.orders == 6, "a, b, ordé, x|y, o9 and the cart p")
        #expect(contents.partialOrders == ["p"])
    }

    @Test("the value parser agrees with Int(_:) on signs, empty values, spaces and overflow")
    func valueParser() {
        for text in [
            "1", "+1", "-1", "0", "+", "", " 1", "1 ", "007", "9223372036854775807", "9223372036854775808", "1.0",
        ] {
            let parsed = Array(text.utf8).withUnsafeBytes { StockLedger.positiveInteger($0) }
            #expect(parsed == Int(text).flatMap { $0 > 0 ? $0 : nil }, "\(text)")
        }
    }
}
