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
        let hot = try ContendedStock(units: 100)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)
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

/// The default policy: a full-jitter step from one round trip per conflict in a row; above the target conflict rate,
/// a connection's window from one round trip up to the cap, closing again when conflicts stop.
@Suite("tracking backoff")
struct TrackingBackoffTests {
    static let cap = Duration.milliseconds(2)
    static let target = 0.5

    /// A window that has measured a steady 100 µs attempt.
    static func measuredWindow() -> ContentionWindow {
        var window = ContentionWindow()
        for _ in 0..<4 { window.measured(.microseconds(100)) }
        return window
    }

    @Test("it starts closed, and a conflict now and then (below the target rate) keeps it closed")
    func startsClosedAtLowConflictRates() {
        var window = Self.measuredWindow()
        #expect(window.current == .zero)
        #expect(window.roundTrip == .microseconds(100))
        // One conflict in four attempts: a 25% rate, below the 50% target.
        for _ in 0..<50 {
            window.conflicted(target: Self.target, cap: Self.cap)
            for _ in 0..<3 { window.committed(target: Self.target) }
            #expect(window.current == .zero, "below the target rate conflicts are retried at once")
        }
        #expect(window.conflictRate < Self.target)
    }

    @Test("above the target rate it opens at the measured round trip, doubles, and stops at the cap")
    func opensAtTheRoundTripAndIsBounded() {
        var window = Self.measuredWindow()
        var opened: Duration?
        for _ in 0..<40 {
            window.conflicted(target: Self.target, cap: Self.cap)
            if window.current > .zero, opened == nil { opened = window.current }
        }
        #expect(opened == .microseconds(100), "the first window is one round trip")
        #expect(window.conflictRate > Self.target)
        #expect(window.current == Self.cap)
        window.conflicted(target: Self.target, cap: Self.cap)
        #expect(window.current == Self.cap, "never past the cap")
    }

    @Test("when conflicts stop, commits shrink the window until it closes")
    func closesWhenConflictsStop() {
        var window = Self.measuredWindow()
        for _ in 0..<40 { window.conflicted(target: Self.target, cap: Self.cap) }
        #expect(window.current == Self.cap)
        var commits = 0
        var previous = window.current
        while window.current > .zero, commits < 1_000 {
            window.committed(target: Self.target)
            commits += 1
            #expect(window.current <= previous)
            previous = window.current
        }
        #expect(window.current == .zero)
        #expect(commits < 100, "it closes within tens of commits once the rate is below the target")
        #expect(window.conflictRate < Self.target)
    }

    @Test("commits above the target rate do not shrink the window")
    func holdsWhileTheRateStaysHigh() {
        var window = Self.measuredWindow()
        for _ in 0..<40 { window.conflicted(target: Self.target, cap: Self.cap) }
        // Three conflicts per commit: a 75% rate.
        for _ in 0..<20 {
            window.committed(target: Self.target)
            for _ in 0..<3 { window.conflicted(target: Self.target, cap: Self.cap) }
        }
        #expect(window.current == Self.cap)
    }

    @Test("below the target rate a conflict streak still steps aside: full jitter from one round trip, doubling")
    func streakStepsAsideWhileTheWindowIsClosed() {
        let policy = RetryPolicy(backoff: .tracking(conflictRate: Self.target, cap: Self.cap))
        var generator = SplitMix64(seed: 7)
        for streak in 1...6 {
            let ceiling = min(Self.cap, .microseconds(100) * (1 << (streak - 1)))
            var longest = Duration.zero
            for _ in 0..<200 {
                // A fresh window each time: one conflict among many commits keeps the shared window closed.
                var window = Self.measuredWindow()
                let pause = policy.delay(afterConflictStreak: streak, window: &window, using: &generator)
                #expect(window.current == .zero, "the connection's window stays closed below the target rate")
                #expect(pause < ceiling, "streak \(streak): below one round trip × 2^(streak-1), up to the cap")
                longest = max(longest, pause)
            }
            #expect(longest > ceiling / 2, "streak \(streak): the draws fill the window, they do not retry at once")
        }
    }

    @Test("the sleep after a conflict is drawn below the wider of the streak's window and the connection's")
    func delayFollowsTheWindow() {
        let policy = RetryPolicy(backoff: .tracking(conflictRate: Self.target, cap: Self.cap))
        var window = Self.measuredWindow()
        var generator = SplitMix64(seed: 1)
        #expect(policy.delay(afterConflictStreak: 1, window: &window, using: &generator) < .microseconds(100))
        for streak in 2...30 {
            let pause = policy.delay(afterConflictStreak: streak, window: &window, using: &generator)
            let own = min(Self.cap, .microseconds(100) * (1 << min(streak - 1, 30)))
            #expect(pause < max(window.current, own))
        }
        #expect(window.current == Self.cap)
        policy.committed(window: &window)
        #expect(window.current == Self.cap, "still above the target rate")
    }

    @Test("the default policy tracks a 50% conflict rate up to 100 ms, and times its attempts")
    func defaultPolicy() {
        #expect(RetryPolicy.tracking.backoff == .tracking(conflictRate: 0.5, cap: .milliseconds(100)))
        #expect(RetryPolicy.tracking.measuresRoundTrip)
        #expect(!RetryPolicy.adaptive.measuresRoundTrip)
    }

    @Test("a connection measures its round trip and opens its window under forced conflicts")
    func learnsOnAConnection() throws {
        let hot = try ContendedStock(units: 1_000)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)
        let sale = OptimisticTransaction(
            watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock), policy: .tracking)
        let first = try connection.run(sale) { attempt -> TransactionDecision<Void> in
            if attempt.number <= 30 { try rival.send(RedisCommand("DECR", key: stock)) }
            return .commit([RedisCommand("DECR", key: stock)])
        }
        #expect(first.conflicts == 30)
        #expect(connection.contention.roundTrip > .zero)
        #expect(connection.contention.conflictRate > 0.5)
        #expect(connection.contention.current > .zero, "thirty conflicts in a row opened the window")
        for _ in 0..<100 { _ = try connection.run(sale) { _ in .commit([RedisCommand("DECR", key: stock)]) } }
        #expect(connection.contention.current == .zero, "a hundred clean commits closed it")
        #expect(try connection.send(RedisCommand("GET", key: stock)).int == 1_000 - 30 - 1 - 100)
    }
}

/// How a pause is waited out: asleep, or yielding the CPU without ever leaving it idle.
@Suite("backoff waits")
struct BackoffWaitTests {
    /// This thread's voluntary context switches so far: each time it blocked (a sleep, a read) rather than being
    /// preempted or yielding.
    static func voluntarySwitches() -> Int {
        var usage = rusage()
        // RUSAGE_THREAD (1), which Glibc's module leaves out: it is declared under _GNU_SOURCE only.
        getrusage(1, &usage)
        return usage.ru_nvcsw
    }

    @Test("a yielding pause lasts its time and never blocks; a sleeping one blocks")
    func yieldingNeverBlocks() {
        let clock = ContinuousClock()
        let pause = Duration.milliseconds(20)
        var before = Self.voluntarySwitches()
        let yielded = clock.measure { RedisConnection.pause(pause, .yield) }
        let yieldingSwitches = Self.voluntarySwitches() - before
        #expect(yielded >= pause)
        #expect(yieldingSwitches == 0, "a yielding pause gives the CPU away only while something else can run")
        before = Self.voluntarySwitches()
        let slept = clock.measure { RedisConnection.pause(pause, .sleep) }
        #expect(slept >= pause)
        #expect(Self.voluntarySwitches() - before >= 1, "a sleep blocks")
    }

    @Test("a policy sleeps unless told to yield, and commits through forced conflicts either way")
    func bothWaitsCommit() throws {
        #expect(RetryPolicy().wait == .sleep)
        #expect(RetryPolicy.tracking.wait == .sleep)
        let hot = try ContendedStock(units: 100)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)
        for wait in RetryPolicy.Wait.allCases {
            let sale = OptimisticTransaction(
                watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock),
                policy: RetryPolicy(backoff: .exponential(base: .milliseconds(1), cap: .milliseconds(4)), wait: wait))
            let result = try connection.run(sale) { attempt -> TransactionDecision<Void> in
                if attempt.number <= 3 { try rival.send(RedisCommand("DECR", key: stock)) }
                return .commit([RedisCommand("DECR", key: stock)])
            }
            #expect(result.attempts == 4, "\(wait)")
            #expect(result.conflicts == 3, "\(wait)")
        }
        #expect(try connection.send(RedisCommand("GET", key: stock)).int == 100 - 2 * 4)
    }
}
