import EmbeddedRedis
import Foundation
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

    func sale(_ strategy: Strategy, _ keys: SaleKeys, reportsLeft: Bool = false) throws -> any SaleStrategy {
        let sha = strategy == .lua ? try LuaSale.load(on: connection) : ""
        return strategy.makeSale(
            keys: keys, policy: .immediate, scriptSHA: sha, quantities: 1...10, reportsLeft: reportsLeft)
    }

    /// What a sale learns of the stock left: every strategy but decr, and lua only when asked (`L`, the worker
    /// records its sales); without it lua's script answers the integer 1.
    func left(_ strategy: Strategy, reportsLeft: Bool, _ values: [Int64]) -> StockLeft {
        strategy == .decr || (strategy == .lua && !reportsLeft) ? .unknown : StockLeft(values)
    }

    /// StockSim's own strategies; `script` runs the user's, tested in `ScriptStrategyTests`. Each with the stock left
    /// asked for (the per-sale witness on) and not.
    @Test(arguments: Strategy.allCases.filter { $0 != .script }, [true, false])
    func aSingleKeySellsRefusesAndRecordsItsOrderAsToday(strategy: Strategy, reportsLeft: Bool) throws {
        let key = "single:\(strategy):\(reportsLeft)"
        let keys = SaleKeys(layout: CatalogLayout(key: key, skus: 1, groups: 1), cartSize: 1, recordsLedger: true)
        try connection.send("SET", RedisArgument(key), 5)
        let sale = try sale(strategy, keys, reportsLeft: reportsLeft)
        let order = Order(id: "r:0:1", units: 2, skus: [0], group: 0)
        // Every strategy but decr learns the stock its sale left: the per-sale witness's evidence.
        let left = left(strategy, reportsLeft: reportsLeft, [3])
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

    @Test("watch, watching ahead: an order finds its read sent behind the last EXEC, and refuses only on its own")
    func watchingAheadRefusesOnlyOnAReadOfItsOwn() throws {
        let key = "ahead:refusal"
        let keys = SaleKeys(layout: CatalogLayout(key: key, skus: 1, groups: 1), cartSize: 1, recordsLedger: true)
        try connection.send("SET", RedisArgument(key), 1)
        let seller = try RedisConnection(endpoint: server.endpoint)
        let sale = Strategy.watch.makeSale(keys: keys, policy: .immediate, scriptSHA: "", watchesAhead: true)
        let first = Order(id: "a:0:1", units: 1, skus: [0], group: 0)
        #expect(
            try sale.place(first, verify: false, on: seller) == .sold(attempts: 1, conflicts: 0, left: StockLeft([0])))
        // The read sent behind that EXEC said 0; a restock comes before the next order. Refused on that read, the
        // order would be refused with two units in stock: its own read sells it (the restock touched the WATCH sent
        // ahead, so the first EXEC conflicts and the retry commits).
        try connection.send("INCRBY", RedisArgument(key), 2)
        let second = Order(id: "a:0:2", units: 1, skus: [0], group: 0)
        #expect(
            try sale.place(second, verify: false, on: seller) == .sold(attempts: 2, conflicts: 1, left: StockLeft([1])))
        #expect(try connection.send("GET", RedisArgument(key)).int == 1)
        #expect(try connection.send("HLEN", RedisArgument("{\(key)}:ledger")).int == 2)
        // Taken to 0 from outside: the read sent ahead says 1, so the first EXEC conflicts; the retry's read (sent
        // behind that EXEC, within this order) refuses it, and nothing is taken.
        try connection.send("SET", RedisArgument(key), 0)
        let third = Order(id: "a:0:3", units: 1, skus: [0], group: 0)
        #expect(
            try sale.place(third, verify: false, on: seller) == .outOfStock(remaining: [0], attempts: 2, conflicts: 1))
        #expect(try connection.send("GET", RedisArgument(key)).int == 0)
    }

    /// StockSim's own strategies; `script` runs the user's, tested in `ScriptStrategyTests`. Each with the stock left
    /// asked for and not.
    @Test(arguments: Strategy.allCases.filter { $0 != .script }, [true, false])
    func aCartTakesEverySKUOrNone(strategy: Strategy, reportsLeft: Bool) throws {
        let layout = CatalogLayout(key: "cart:\(strategy):\(reportsLeft)", skus: 4, groups: 2)
        let keys = SaleKeys(layout: layout, cartSize: 2, recordsLedger: true)
        for sku in 0..<4 { try connection.send("SET", RedisArgument(layout.stockKey(sku)), 5) }
        let sale = try sale(strategy, keys, reportsLeft: reportsLeft)
        let order = Order(id: "r:0:1", units: 3, skus: [2, 0], group: 0)
        let left = left(strategy, reportsLeft: reportsLeft, [2, 2])
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

    /// Without a ledger `lua` sends only the order's stock keys and units (no ledger keys, no order id): the same
    /// decision, and nothing written but the stock.
    @Test(arguments: Strategy.allCases.filter { $0 != .script }, [true, false])
    func withoutALedgerAnOrderSellsOrRefusesAndRecordsNothing(strategy: Strategy, reportsLeft: Bool) throws {
        let single = CatalogLayout(key: "bare:\(strategy):\(reportsLeft)", skus: 1, groups: 1)
        let cart = CatalogLayout(key: "barecart:\(strategy):\(reportsLeft)", skus: 4, groups: 2)
        for (layout, skus) in [(single, [0]), (cart, [2, 0])] {
            let keys = SaleKeys(layout: layout, cartSize: skus.count, recordsLedger: false)
            for sku in 0..<layout.skus { try connection.send("SET", RedisArgument(layout.stockKey(sku)), 5) }
            let sale = try sale(strategy, keys, reportsLeft: reportsLeft)
            #expect(!sale.canVerify)
            let order = Order(id: "", units: 3, skus: skus, group: 0)
            let sold = SaleOutcome.sold(
                attempts: 1, conflicts: 0, left: left(strategy, reportsLeft: reportsLeft, skus.map { _ in 2 }))
            #expect(try sale.place(order, verify: false, on: connection) == sold)
            let left = try skus.map { try connection.send("GET", RedisArgument(layout.stockKey($0))).int }
            #expect(left == skus.map { _ in 2 })
            guard case .outOfStock(let remaining, _, _) = try sale.place(order, verify: false, on: connection) else {
                Issue.record("\(strategy) sold 3 units of \(skus.count) SKUs that had 2 left")
                continue
            }
            #expect(remaining.count == skus.count)
            if strategy == .lua { #expect(remaining == skus.map { _ in 2 }) }
            let after = try skus.map { try connection.send("GET", RedisArgument(layout.stockKey($0))).int }
            #expect(after == left, "a refused order took nothing")
            for group in 0..<layout.groups {
                #expect(try connection.send("EXISTS", RedisArgument(layout.ledgerKey(group: group))).int == 0)
            }
        }
    }

    /// A unit order, the common one (lua's script reads a quantity of `'1'` without `tonumber`): it sells the last
    /// unit of a single key and of a cart, and the next one is refused with what is left, with the stock left asked
    /// for and not.
    @Test(arguments: Strategy.allCases.filter { $0 != .script }, [true, false])
    func aUnitOrderSellsTheLastUnitAndTheNextIsRefused(strategy: Strategy, reportsLeft: Bool) throws {
        let single = CatalogLayout(key: "unit:\(strategy):\(reportsLeft)", skus: 1, groups: 1)
        let cart = CatalogLayout(key: "unitcart:\(strategy):\(reportsLeft)", skus: 3, groups: 1)
        for (layout, skus) in [(single, [0]), (cart, [1, 2])] {
            for recordsLedger in [true, false] {
                for sku in 0..<layout.skus { try connection.send("SET", RedisArgument(layout.stockKey(sku)), 1) }
                let keys = SaleKeys(layout: layout, cartSize: skus.count, recordsLedger: recordsLedger)
                let sale = try sale(strategy, keys, reportsLeft: reportsLeft)
                let first = Order(id: recordsLedger ? "u:0:1" : "", units: 1, skus: skus, group: 0)
                let sold = SaleOutcome.sold(
                    attempts: 1, conflicts: 0, left: left(strategy, reportsLeft: reportsLeft, skus.map { _ in 0 }))
                #expect(try sale.place(first, verify: false, on: connection) == sold, "\(skus) \(recordsLedger)")
                let next = Order(id: recordsLedger ? "u:0:2" : "", units: 1, skus: skus, group: 0)
                guard case .outOfStock(let remaining, _, _) = try sale.place(next, verify: false, on: connection)
                else {
                    Issue.record("\(strategy) sold a unit of \(skus) that had none left")
                    continue
                }
                if strategy == .lua { #expect(remaining == skus.map { _ in 0 }) }
                let stock = try skus.map { try connection.send("GET", RedisArgument(layout.stockKey($0))).int }
                #expect(stock == skus.map { _ in 0 }, "nothing oversold")
                try connection.send(
                    "DEL", RedisArgument(layout.ledgerKey(group: 0)), RedisArgument(layout.runKey(group: 0)))
            }
        }
    }

    /// `--backoff-wait` reaches the worker: the configuration a worker is handed (as JSON) names the wait, and the
    /// policy its `watch` sales run under waits that way.
    @Test func theWatchPolicyWaitsAsConfigured() throws {
        #expect(SimulationConfiguration().backoffWait == .sleep, "yielding is asked for, not the default")
        for wait in BackoffWait.allCases {
            var configuration = SimulationConfiguration(
                backoff: .exponential(baseMicroseconds: 50, capMicroseconds: 900))
            configuration.backoffWait = wait
            let handed = try JSONDecoder().decode(
                SimulationConfiguration.self, from: try JSONEncoder().encode(configuration))
            #expect(handed.retryPolicy.wait == (wait == .yield ? .yield : .sleep))
            #expect(handed.retryPolicy.backoff == .exponential(base: .microseconds(50), cap: .microseconds(900)))
        }
    }

    /// The script checks every stock key before its first write: a cart whose second key is missing or not an
    /// integer is refused with `StockKeyError` and takes nothing from the first, with a ledger or without.
    @Test(arguments: [false, true])
    func luaChecksEveryStockKeyBeforeItWrites(recordsLedger: Bool) throws {
        let layout = CatalogLayout(key: "broken:\(recordsLedger)", skus: 2, groups: 1)
        let keys = SaleKeys(layout: layout, cartSize: 2, recordsLedger: recordsLedger)
        let sale = try sale(.lua, keys)
        let order = Order(id: recordsLedger ? "r:0:1" : "", units: 1, skus: [0, 1], group: 0)
        try connection.send("SET", RedisArgument(layout.stockKey(0)), 5)
        for value in ["2.5", "plenty", "inf", nil] {
            if let value {
                try connection.send("SET", RedisArgument(layout.stockKey(1)), RedisArgument(value))
            } else {
                try connection.send("DEL", RedisArgument(layout.stockKey(1)))
            }
            #expect(throws: StockKeyError.self, "second stock key \(value ?? "missing")") {
                try sale.place(order, verify: false, on: connection)
            }
            #expect(try connection.send("GET", RedisArgument(layout.stockKey(0))).int == 5)
        }
        #expect(try connection.send("EXISTS", RedisArgument(layout.ledgerKey(group: 0))).int == 0)
    }
}
