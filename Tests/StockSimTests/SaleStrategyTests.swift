import EmbeddedRedis
import Hiredis
import Testing

@testable import StockSim

/// Each strategy's one decision, for a single key (a catalog of one) and for a cart: sell all or nothing, refuse with
/// what every SKU has, and — where the ledger allows — recognise an order already recorded.
@Suite("sale strategies", .serialized)
struct SaleStrategyTests {
    let server: RedisServer
    let connection: RedisConnection

    init() throws {
        server = try RedisServer()
        connection = try RedisConnection(endpoint: server.endpoint)
    }

    func sale(_ strategy: Strategy, _ keys: SaleKeys) throws -> any SaleStrategy {
        let sha = strategy == .lua ? try LuaSale.load(on: connection) : ""
        return strategy.makeSale(keys: keys, policy: .immediate, scriptSHA: sha, quantities: 1...10)
    }

    /// StockSim's own strategies; `script` runs the user's, tested in `ScriptStrategyTests`.
    @Test(arguments: Strategy.allCases.filter { $0 != .script })
    func aSingleKeySellsRefusesAndRecordsItsOrderAsToday(strategy: Strategy) throws {
        let key = "single:\(strategy)"
        let keys = SaleKeys(layout: CatalogLayout(key: key, skus: 1, groups: 1), cartSize: 1, recordsLedger: true)
        try connection.send("SET", RedisArgument(key), 5)
        let sale = try sale(strategy, keys)
        let order = Order(id: "r:0:1", units: 2, skus: [0], group: 0)
        // Every strategy but decr learns the stock its sale left: the per-sale witness's evidence.
        let left: StockLeft = strategy == .decr ? .unknown : .one(3)
        #expect(try sale.place(order, verify: false, on: connection) == .sold(attempts: 1, conflicts: 0, left: left))
        #expect(try connection.send("GET", RedisArgument(key)).int == 3)
        // Today's keys and entries: {KEY}:ledger holds ORDER → UNITS, {KEY}:run counts the writes.
        #expect(try connection.send("HGET", RedisArgument("{\(key)}:ledger"), "r:0:1").int == 2)
        #expect(try connection.send("HGET", RedisArgument("{\(key)}:run"), "ledger_writes").int == 1)
        let large = Order(id: "r:0:2", units: 4, skus: [0], group: 0)
        #expect(
            try sale.place(large, verify: false, on: connection)
                == .outOfStock(remaining: [3], attempts: 1, conflicts: 0))
        #expect(try connection.send("GET", RedisArgument(key)).int == 3)
        if sale.canVerify {
            // Sent again after a lost reply: the ledger shows the first one committed, and nothing is sold twice.
            #expect(try sale.place(order, verify: true, on: connection) == .alreadyRecorded(attempts: 1, conflicts: 0))
            #expect(try connection.send("GET", RedisArgument(key)).int == 3)
        }
    }

    /// StockSim's own strategies; `script` runs the user's, tested in `ScriptStrategyTests`.
    @Test(arguments: Strategy.allCases.filter { $0 != .script })
    func aCartTakesEverySKUOrNone(strategy: Strategy) throws {
        let layout = CatalogLayout(key: "cart:\(strategy)", skus: 4, groups: 2)
        let keys = SaleKeys(layout: layout, cartSize: 2, recordsLedger: true)
        for sku in 0..<4 { try connection.send("SET", RedisArgument(layout.stockKey(sku)), 5) }
        let sale = try sale(strategy, keys)
        let order = Order(id: "r:0:1", units: 3, skus: [2, 0], group: 0)
        let left: StockLeft = strategy == .decr ? .unknown : .each([2, 2])
        #expect(try sale.place(order, verify: false, on: connection) == .sold(attempts: 1, conflicts: 0, left: left))
        let stock = try (0..<4).map { try connection.send("GET", RedisArgument(layout.stockKey($0))).int }
        #expect(stock == [2, 5, 2, 5])
        #expect(try connection.send("HGET", RedisArgument(layout.ledgerKey(group: 0)), "r:0:1|2").string == "3/2")
        #expect(try connection.send("HGET", RedisArgument(layout.ledgerKey(group: 0)), "r:0:1|0").string == "3/2")
        let again = Order(id: "r:0:2", units: 3, skus: [0, 2], group: 0)
        guard case .outOfStock(let remaining, _, _) = try sale.place(again, verify: false, on: connection) else {
            Issue.record("a cart short of units was not refused")
            return
        }
        #expect(remaining.count == 2)
        #expect(remaining.contains { $0 < 3 })
        let after = try (0..<4).map { try connection.send("GET", RedisArgument(layout.stockKey($0))).int }
        #expect(after == [2, 5, 2, 5], "a refused cart took nothing")
        if sale.canVerify {
            #expect(try sale.place(order, verify: true, on: connection) == .alreadyRecorded(attempts: 1, conflicts: 0))
        }
        let contents = try StockLedger(layout: layout).read(on: connection)
        #expect(contents.unitsBySKU == [3, 0, 3, 0])
        #expect(contents.orders == 1)
        #expect(contents.partialOrders.isEmpty)
    }
}
