import EmbeddedRedis
import Hiredis
import Testing

/// `OptimisticTransaction.watchesAhead`: the next attempt's WATCH and read go behind EXEC.
@Suite("watching ahead")
struct WatchAheadTests {
    /// A WATCH, GET, DECR transaction on `key` that watches ahead.
    static func sale(_ key: String, ahead: Bool = true) -> OptimisticTransaction {
        var sale = OptimisticTransaction(watching: [RedisArgument(key)], read: RedisCommand("GET", key: key))
        sale.watchesAhead = ahead
        return sale
    }

    /// Runs `sale` once: reads the stock, takes a unit; returns what it read and the attempts it took.
    static func sell(_ sale: OptimisticTransaction, on connection: RedisConnection, decrementing key: String) throws
        -> (reads: [Int64], attempts: Int, conflicts: Int)
    {
        var reads: [Int64] = []
        let result = try connection.run(sale) { attempt -> TransactionDecision<Void> in
            reads.append(try #require(attempt.read.int))
            return .commit([RedisCommand("DECR", key: key)])
        }
        guard case .committed = result.outcome else {
            Issue.record("expected a commit, got \(result.outcome)")
            return (reads, result.attempts, result.conflicts)
        }
        return (reads, result.attempts, result.conflicts)
    }

    /// The read events the server has processed (`total_reads_processed`): one per round trip of a client that
    /// writes each batch at once.
    static func readsProcessed(_ observer: RedisConnection) throws -> Int {
        let info = try #require(try observer.send(RedisCommand("INFO", "stats")).string)
        let line = try #require(info.split(separator: "\r\n").first { $0.hasPrefix("total_reads_processed:") })
        return try #require(Int(line.dropFirst("total_reads_processed:".count)))
    }

    @Test(
        "run back to back, a transaction that watches ahead makes one round trip a run after the first, two without",
        arguments: [true, false])
    func oneRoundTripPerRun(ahead: Bool) throws {
        let hot = try ContendedStock(units: 100)
        defer { hot.stop() }
        let sale = Self.sale(hot.key, ahead: ahead)
        _ = try Self.sell(sale, on: hot.connection, decrementing: hot.key)
        let before = try Self.readsProcessed(hot.rival)
        var reads: [Int64] = []
        for _ in 0..<20 {
            let run = try Self.sell(sale, on: hot.connection, decrementing: hot.key)
            #expect(run.attempts == 1 && run.conflicts == 0)
            reads += run.reads
        }
        // The observer's own INFO is one read event.
        let roundTrips = try Self.readsProcessed(hot.rival) - before - 1
        #expect(reads == Array(stride(from: 99, through: 80, by: -1)), "each run read what the last one left")
        #expect(roundTrips == (ahead ? 20 : 40))
        #expect(try hot.rival.send(RedisCommand("GET", key: hot.key)) == .bulkString("79"))
    }

    @Test("a write between a commit and the next run is a conflict; the retry reads it from the WATCH sent ahead")
    func aWriteInBetweenIsAConflict() throws {
        let hot = try ContendedStock(units: 10)
        defer { hot.stop() }
        let sale = Self.sale(hot.key)
        #expect(try Self.sell(sale, on: hot.connection, decrementing: hot.key).reads == [10])
        try hot.rival.send(RedisCommand("DECRBY", key: hot.key, 4))
        let run = try Self.sell(sale, on: hot.connection, decrementing: hot.key)
        #expect(run.reads == [9, 5], "the read sent ahead was before the rival's write; the retry's after it")
        #expect(run.attempts == 2 && run.conflicts == 1)
        #expect(try hot.rival.send(RedisCommand("GET", key: hot.key)) == .bulkString("4"))
    }

    @Test("a command sent between gets its own reply, and the WATCH sent ahead no longer guards a later EXEC")
    func aCommandInBetweenSettlesTheWatch() throws {
        let hot = try ContendedStock(units: 10)
        defer { hot.stop() }
        let other = uniqueKey()
        try hot.rival.send(RedisCommand("SET", key: other, 42))
        _ = try Self.sell(Self.sale(hot.key), on: hot.connection, decrementing: hot.key)
        #expect(try hot.connection.send(RedisCommand("GET", key: other)) == .bulkString("42"))
        try hot.rival.send(RedisCommand("DECRBY", key: hot.key, 4))
        let replies = try hot.connection.pipeline([
            RedisCommand("MULTI"), RedisCommand("INCR", key: other), RedisCommand("EXEC"),
        ])
        #expect(replies.last == .array([.integer(43)]), "EXEC ran: the stock's WATCH was dropped, not inherited")
        #expect(!hot.connection.isInTransaction)
    }

    @Test("another transaction after one that watched ahead reads its own key and is not guarded by the other's")
    func anotherTransactionDropsTheWatchSentAhead() throws {
        let hot = try ContendedStock(units: 10)
        defer { hot.stop() }
        let second = uniqueKey()
        try hot.rival.send(RedisCommand("SET", key: second, 5))
        _ = try Self.sell(Self.sale(hot.key), on: hot.connection, decrementing: hot.key)
        let plain = Self.sale(second, ahead: false)
        // The first key changes after its WATCH was sent ahead: a transaction on the second key must not conflict.
        try hot.rival.send(RedisCommand("DECRBY", key: hot.key, 4))
        let run = try Self.sell(plain, on: hot.connection, decrementing: second)
        #expect(run.reads == [5])
        #expect(run.attempts == 1 && run.conflicts == 0)
        #expect(try hot.connection.send(RedisCommand("GET", key: second)) == .bulkString("4"))
        #expect(try hot.connection.send(RedisCommand("GET", key: hot.key)) == .bulkString("5"))
    }

    @Test("a pause after a conflict drops the read sent ahead; the transaction still commits, nothing oversold")
    func aPauseDropsTheReadSentAhead() throws {
        let hot = try ContendedStock(units: 10)
        defer { hot.stop() }
        var sale = Self.sale(hot.key)
        sale.policy = RetryPolicy(backoff: .exponential(base: .milliseconds(2), cap: .milliseconds(4)))
        var reads: [Int64] = []
        let result = try hot.connection.run(sale) { attempt -> TransactionDecision<Void> in
            let available = try #require(attempt.read.int)
            reads.append(available)
            // Two conflicts, each followed by a pause.
            if attempt.number <= 2 { try hot.rival.send(RedisCommand("DECR", key: hot.key)) }
            return .commit([RedisCommand("DECR", key: hot.key)])
        }
        guard case .committed = result.outcome else {
            Issue.record("expected a commit, got \(result.outcome)")
            return
        }
        #expect(result.attempts == 3 && result.conflicts == 2)
        #expect(reads == [10, 9, 8])
        #expect(try hot.connection.send(RedisCommand("GET", key: hot.key)) == .bulkString("7"))
        #expect(!hot.connection.isInTransaction)
    }
}
