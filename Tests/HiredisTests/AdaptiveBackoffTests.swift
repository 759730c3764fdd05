import EmbeddedRedis
import Foundation
import Testing

@testable import Hiredis

/// The contention-aware policy: its window grows with conflicts, shrinks with commits, and is kept per connection.
@Suite("adaptive backoff")
struct AdaptiveBackoffTests {
    @Test("the window doubles on each conflict up to the cap and shrinks by a tenth on each commit")
    func windowFollowsConflicts() {
        var window = ContentionWindow()
        let base = Duration.microseconds(20)
        let cap = Duration.milliseconds(1)
        window.conflicted(base: base, cap: cap)
        #expect(window.current == base)
        window.conflicted(base: base, cap: cap)
        #expect(window.current == .microseconds(40))
        for _ in 0..<20 { window.conflicted(base: base, cap: cap) }
        #expect(window.current == cap)
        window.committed(base: base)
        #expect(window.current == .microseconds(900))
        for _ in 0..<200 { window.committed(base: base) }
        #expect(window.current == .zero, "with no contention left, no sleep at all")
    }

    @Test("the sleep after a conflict is drawn below the window")
    func delayIsBelowTheWindow() {
        let policy = RetryPolicy(backoff: .adaptive(base: .microseconds(20), cap: .seconds(1)))
        var window = ContentionWindow()
        var generator = SplitMix64(seed: 1)
        for streak in 1...12 {
            let pause = policy.delay(afterConflictStreak: streak, window: &window, using: &generator)
            #expect(pause >= .zero && pause < window.current)
        }
        #expect(window.current == .microseconds(20) * 2048)
    }

    @Test("the standard policy starts at 1 ms and stops at 200 ms")
    func standardPolicy() {
        #expect(RetryPolicy.adaptive.backoff == .adaptive(base: .milliseconds(1), cap: .milliseconds(200)))
        #expect(RetryPolicy.adaptive.maxAttempts == nil)
    }

    @Test("a connection carries what it learned into its next transaction, and commits through forced conflicts")
    func learnedAcrossTransactions() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let rival = try RedisConnection(endpoint: server.endpoint)
        let stock = uniqueKey()
        try connection.send(RedisCommand("SET", key: stock, 100))
        let sale = OptimisticTransaction(
            watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock),
            policy: RetryPolicy(backoff: .adaptive(base: .microseconds(20), cap: .milliseconds(100))))
        let first = try connection.run(sale) { attempt -> TransactionDecision<Void> in
            if attempt.number <= 5 { try rival.send(RedisCommand("DECR", key: stock)) }
            return .commit([RedisCommand("DECR", key: stock)])
        }
        #expect(first.attempts == 6)
        #expect(first.conflicts == 5)
        // Five conflicts doubled the window from 20 µs to 320 µs; the commit took a tenth off.
        #expect(connection.contention.current == .microseconds(288))
        let second = try connection.run(sale) { _ in .commit([RedisCommand("DECR", key: stock)]) }
        #expect(second.conflicts == 0)
        #expect(connection.contention.current < .microseconds(288))
        #expect(try connection.send(RedisCommand("GET", key: stock)).int == 100 - 5 - 2)
    }
}
