import EmbeddedRedis
import Hiredis
import Testing

/// Optimistic WATCH/MULTI/EXEC transactions. A second connection (`rival`) plays the other trader that writes a watched
/// key between WATCH and EXEC.
@Suite("Optimistic transactions")
struct TransactionTests {
    @Test("WATCH, GET, commit [DECR]: committed on the first attempt with DECR's result")
    func commit() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let stock = uniqueKey()
        try connection.send(RedisCommand("SET", key: stock, 10))

        let sale = OptimisticTransaction(watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock))
        let result = try connection.run(sale) { attempt -> TransactionDecision<Int64> in
            let available = try #require(attempt.read.int)
            return .commit([RedisCommand("DECR", key: stock)], available)
        }

        guard case .committed(let results, let seen) = result.outcome else {
            Issue.record("expected a commit, got \(result.outcome)")
            return
        }
        #expect(results == [.integer(9)])
        #expect(seen == 10)
        #expect(result.attempts == 1)
        #expect(result.conflicts == 0)
        #expect(try connection.send(RedisCommand("GET", key: stock)) == .bulkString("9"))
    }

    @Test("a write by another connection between WATCH and EXEC is a conflict, and the retry commits")
    func conflictThenRetry() throws {
        let hot = try ContendedStock(units: 10)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)

        var reads: [Int64] = []
        let result = try connection.transaction(
            watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock)
        ) { attempt -> TransactionDecision<Void> in
            let available = try #require(attempt.read.int)
            reads.append(available)
            #expect(attempt.number == reads.count)
            if attempt.number == 1 { try rival.send(RedisCommand("DECRBY", key: stock, 4)) }
            return .commit([RedisCommand("DECR", key: stock)])
        }

        guard case .committed(let results, _) = result.outcome else {
            Issue.record("expected a commit, got \(result.outcome)")
            return
        }
        #expect(result.attempts == 2)
        #expect(result.conflicts == 1)
        #expect(reads == [10, 6], "the retry read the rival's write")
        #expect(results == [.integer(5)])
        #expect(try connection.send(RedisCommand("GET", key: stock)) == .bulkString("5"))
    }

    @Test("maxAttempts: every attempt conflicts, so the transaction is exhausted after exactly that many")
    func exhaustedByMaxAttempts() throws {
        let hot = try ContendedStock(units: 100)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)

        var bodyRuns = 0
        let result = try connection.transaction(
            watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock), policy: RetryPolicy(maxAttempts: 3)
        ) { _ -> TransactionDecision<Void> in
            bodyRuns += 1
            try rival.send(RedisCommand("DECR", key: stock))
            return .commit([RedisCommand("SET", key: stock, "mine")])
        }

        guard case .exhausted(.maxAttempts) = result.outcome else {
            Issue.record("expected exhaustion by maxAttempts, got \(result.outcome)")
            return
        }
        #expect(result.attempts == 3)
        #expect(result.conflicts == 3)
        #expect(bodyRuns == 3)
        #expect(
            try connection.send(RedisCommand("GET", key: stock)) == .bulkString("97"), "only the rival's writes landed")
    }

    @Test("deadline: every attempt conflicts, so the transaction is exhausted once the deadline has passed")
    func exhaustedByDeadline() throws {
        let hot = try ContendedStock(units: 0)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)

        let deadline = Duration.milliseconds(300)
        var bodyRuns = 0
        let clock = ContinuousClock()
        let start = clock.now
        let result = try connection.transaction(
            watching: [RedisArgument(stock)], policy: RetryPolicy(deadline: deadline)
        ) { _ -> TransactionDecision<Void> in
            bodyRuns += 1
            // A safety valve so a deadline that is never checked fails the test instead of hanging it.
            if clock.now - start > .seconds(10) { return .abort }
            try rival.send(RedisCommand("INCR", key: stock))
            return .commit([RedisCommand("SET", key: stock, "mine")])
        }
        let elapsed = clock.now - start

        guard case .exhausted(.deadline) = result.outcome else {
            Issue.record("expected exhaustion by the deadline, got \(result.outcome)")
            return
        }
        #expect(result.attempts >= 1)
        #expect(result.conflicts == result.attempts)
        #expect(bodyRuns == result.attempts)
        #expect(elapsed >= deadline, "\(elapsed)")
        #expect(elapsed < deadline + .milliseconds(1200), "stopped soon after the deadline: \(elapsed)")
        #expect(try connection.send(RedisCommand("GET", key: stock)).int == Int64(bodyRuns))
    }

    @Test("exponential backoff sleeps between conflicts and the transaction still commits")
    func exponentialBackoff() throws {
        let hot = try ContendedStock(units: 50)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)

        let policy = RetryPolicy(
            maxAttempts: 10, backoff: .exponential(base: .microseconds(100), cap: .milliseconds(2)))
        let result = try connection.transaction(
            watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock), policy: policy
        ) { attempt -> TransactionDecision<Int> in
            if attempt.number <= 3 { try rival.send(RedisCommand("DECR", key: stock)) }
            return .commit([RedisCommand("DECR", key: stock)], attempt.number)
        }

        guard case .committed(let results, let committedOn) = result.outcome else {
            Issue.record("expected a commit, got \(result.outcome)")
            return
        }
        #expect(committedOn == 4)
        #expect(result.attempts == 4)
        #expect(result.conflicts == 3)
        #expect(results == [.integer(46)])
    }

    @Test("the body aborts: .aborted(value) is returned and the key is no longer watched")
    func abortUnwatches() throws {
        let hot = try ContendedStock(units: 0)
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)

        // The check below can tell: a key left watched makes a later EXEC null after a rival's write.
        try connection.send(RedisCommand("WATCH", key: stock))
        try rival.send(RedisCommand("SET", key: stock, 0))
        let stale = try connection.pipeline([
            RedisCommand("MULTI"), RedisCommand("SET", key: stock, "x"), RedisCommand("EXEC"),
        ])
        #expect(stale[2] == .null)

        let result = try connection.transaction(
            watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock)
        ) { attempt -> TransactionDecision<String> in
            attempt.read.int == 0 ? .abort("sold out") : .commit([RedisCommand("DECR", key: stock)], "sold")
        }
        guard case .aborted(let reason) = result.outcome else {
            Issue.record("expected an abort, got \(result.outcome)")
            return
        }
        #expect(reason == "sold out")
        #expect(result.attempts == 1)
        #expect(result.conflicts == 0)

        try rival.send(RedisCommand("SET", key: stock, 5))
        let after = try connection.pipeline([
            RedisCommand("MULTI"), RedisCommand("SET", key: stock, "x"), RedisCommand("EXEC"),
        ])
        #expect(after[2] == .array([.status("OK")]), "UNWATCH was sent, so the rival's write does not abort this EXEC")
        #expect(try connection.send(RedisCommand("GET", key: stock)) == .bulkString("x"))
    }

    @Test("inside the caller's open MULTI the helper refuses as misuse and sends nothing: EXEC answers []")
    func insideTheCallersMulti() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()
        #expect(!connection.isInTransaction)
        try connection.send("MULTI")
        #expect(connection.isInTransaction)
        let transaction = OptimisticTransaction(watching: [RedisArgument(key)], read: RedisCommand("GET", key: key))
        #expect {
            _ = try connection.run(transaction) { _ -> TransactionDecision<Void> in .abort }
        } throws: { ($0 as? RedisError)?.code == .misuse }
        #expect(try connection.send("EXEC") == .array([]))
        #expect(!connection.isInTransaction)

        // DISCARD closes it too, a refused MULTI never opens it, and a reconnect forgets it.
        try connection.send("MULTI")
        try connection.send("DISCARD")
        #expect(!connection.isInTransaction)
        try connection.send("MULTI")
        #expect(throws: RedisError.self) { try connection.send("MULTI") }
        #expect(connection.isInTransaction, "a nested MULTI is refused; the first one is still open")
        try connection.reconnect()
        #expect(!connection.isInTransaction)
        let result = try connection.run(transaction) { _ -> TransactionDecision<Void> in .abort }
        guard case .aborted = result.outcome else {
            Issue.record("expected an abort, got \(result.outcome)")
            return
        }
    }

    @Test("a command refused while queueing makes EXEC answer EXECABORT: thrown as .serverError, nothing written")
    func execAbort() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let stock = uniqueKey()
        try connection.send(RedisCommand("SET", key: stock, 10))

        var bodyRuns = 0
        let error = try #require(throws: RedisError.self) {
            try connection.transaction(watching: [RedisArgument(stock)]) { _ -> TransactionDecision<Void> in
                bodyRuns += 1
                return .commit([RedisCommand("SET", key: stock, 0), RedisCommand("INCR")])
            }
        }
        #expect(error.code == .serverError)
        #expect(error.reply?.code == "EXECABORT")
        #expect(error.message.contains("(INCR was refused"), "names the refused command: \(error.message)")
        #expect(bodyRuns == 1, "not treated as a conflict and retried")
        #expect(connection.isConnected)
        #expect(try connection.send(RedisCommand("GET", key: stock)) == .bulkString("10"))
    }

    @Test("an error of one command inside EXEC is an element of the results; the others took effect")
    func errorInsideExec() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let key = uniqueKey()

        let result = try connection.transaction(watching: [RedisArgument(key)]) { _ -> TransactionDecision<Void> in
            .commit([RedisCommand("SET", key: key, "x"), RedisCommand("INCR", key: key)])
        }
        guard case .committed(let results, _) = result.outcome else {
            Issue.record("expected a commit, got \(result.outcome)")
            return
        }
        #expect(results.count == 2)
        #expect(results[0] == .status("OK"))
        #expect(results[1].errorReply?.code == "ERR")
        #expect(try connection.send(RedisCommand("GET", key: key)) == .bulkString("x"))
    }

    @Test("several watched keys: a write to an unwatched key is no conflict, a write to the second watched key is")
    func severalWatchedKeys() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let rival = try RedisConnection(endpoint: server.endpoint)
        let cash = uniqueKey()
        let stock = uniqueKey()
        let unrelated = uniqueKey()
        _ = try connection.pipeline([RedisCommand("SET", key: cash, 100), RedisCommand("SET", key: stock, 10)])
        let keys = [RedisArgument(cash), RedisArgument(stock)]
        let buy = [RedisCommand("DECRBY", key: cash, 7), RedisCommand("DECR", key: stock)]

        let calm = try connection.transaction(watching: keys) { attempt -> TransactionDecision<Void> in
            if attempt.number == 1 { try rival.send(RedisCommand("SET", key: unrelated, 1)) }
            return .commit(buy)
        }
        #expect(calm.attempts == 1)
        #expect(calm.conflicts == 0)

        let contested = try connection.transaction(watching: keys) { attempt -> TransactionDecision<Void> in
            if attempt.number == 1 { try rival.send(RedisCommand("DECR", key: stock)) }
            return .commit(buy)
        }
        guard case .committed(let results, _) = contested.outcome else {
            Issue.record("expected a commit, got \(contested.outcome)")
            return
        }
        #expect(contested.attempts == 2)
        #expect(contested.conflicts == 1)
        #expect(results == [.integer(86), .integer(7)])
    }

    @Test("an error thrown by the body is rethrown; the connection stays usable and the key unwatched")
    func bodyThrows() throws {
        struct OutOfStock: Error, Equatable {}
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let rival = try RedisConnection(endpoint: server.endpoint)
        let stock = uniqueKey()

        var bodyRuns = 0
        #expect(throws: OutOfStock()) {
            try connection.transaction(watching: [RedisArgument(stock)]) { _ -> TransactionDecision<Void> in
                bodyRuns += 1
                throw OutOfStock()
            }
        }
        #expect(bodyRuns == 1)
        #expect(connection.isConnected)
        try rival.send(RedisCommand("SET", key: stock, 1))
        let after = try connection.pipeline([
            RedisCommand("MULTI"), RedisCommand("SET", key: stock, 2), RedisCommand("EXEC"),
        ])
        #expect(after[2] == .array([.status("OK")]), "the key was unwatched")
    }

    @Test(
        "with reconnect: .onNextCommand, a connection that broke during the body never commits without its WATCH",
        arguments: [false, true])
    func brokenDuringBodyDoesNotCommitUnwatched(readAgainAfterTheBreak: Bool) throws {
        let hot = try ContendedStock(units: 1, options: .init(reconnect: .onNextCommand))
        defer { hot.stop() }
        let (connection, rival, stock) = (hot.connection, hot.rival, hot.key)
        let id = try #require(try connection.send("CLIENT", "ID").int)

        var bodyRuns = 0
        let error = try #require(throws: RedisError.self) {
            try connection.transaction(
                watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock)
            ) { attempt -> TransactionDecision<Void> in
                bodyRuns += 1
                guard attempt.read.int == 1 else { return .abort }
                // The rival sells the last item, and our connection is cut while we think it over.
                try rival.send(RedisCommand("DECR", key: stock))
                try rival.send("CLIENT", "KILL", "ID", RedisArgument(id))
                // An optional extra read fails and is ignored; a second one would connect again, without WATCH.
                _ = try? attempt.connection.send("PING")
                if readAgainAfterTheBreak { _ = try? attempt.connection.send("PING") }
                return .commit([RedisCommand("DECR", key: stock)])
            }
        }
        #expect(error.code == .connectionLost, "\(error.code): \(error.message)")
        #expect(bodyRuns == 1)
        #expect(try rival.send(RedisCommand("GET", key: stock)) == .bulkString("0"), "the last item was sold once")
    }

    @Test("the server dies after EXEC was sent: .outcomeUnknown caused by .connectionLost, never retried")
    func outcomeUnknownAfterKill() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(endpoint: server.endpoint)
        let admin = try RedisConnection(endpoint: server.endpoint)
        let stock = uniqueKey()
        try connection.send(RedisCommand("SET", key: stock, 10))

        var bodyRuns = 0
        var killer: DelayedAction?
        let error = try #require(throws: RedisError.self) {
            try connection.transaction(
                watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock)
            ) { _ -> TransactionDecision<Void> in
                bodyRuns += 1
                // Redis 7 holds writes (and EXEC of a write transaction) during a WRITE pause: the batch waits in the
                // server, unanswered, until the kill.
                try admin.send("CLIENT", "PAUSE", 20_000, "WRITE")
                killer = DelayedAction(after: .milliseconds(300)) { server.kill() }
                return .commit([RedisCommand("DECR", key: stock)])
            }
        }
        killer?.wait()

        #expect(error.code == .outcomeUnknown)
        #expect(error.cause == .connectionLost, "\(String(describing: error.cause)): \(error.message)")
        #expect(error.message.contains("check whether it committed"))
        #expect(bodyRuns == 1, "the helper did not retry on its own")
        #expect(!connection.isConnected)
        #expect(server.pid == nil)
    }

    @Test("EXEC's reply does not come within the command timeout: .outcomeUnknown caused by .timeout, never retried")
    func outcomeUnknownAfterTimeout() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let connection = try RedisConnection(
            endpoint: server.endpoint, options: .init(commandTimeout: .milliseconds(300)))
        let admin = try RedisConnection(endpoint: server.endpoint)
        let stock = uniqueKey()
        try connection.send(RedisCommand("SET", key: stock, 10))

        var bodyRuns = 0
        let clock = ContinuousClock()
        var committedAt: ContinuousClock.Instant?
        let error = try #require(throws: RedisError.self) {
            try connection.transaction(
                watching: [RedisArgument(stock)], read: RedisCommand("GET", key: stock)
            ) { _ -> TransactionDecision<Void> in
                bodyRuns += 1
                try admin.send("CLIENT", "PAUSE", 2_000, "ALL")
                committedAt = clock.now
                return .commit([RedisCommand("DECR", key: stock)])
            }
        }
        let waited = clock.now - (try #require(committedAt))

        #expect(error.code == .outcomeUnknown)
        #expect(error.cause == .timeout, "\(String(describing: error.cause)): \(error.message)")
        #expect(bodyRuns == 1, "the helper did not retry on its own")
        #expect(!connection.isConnected)
        #expect(waited < .milliseconds(1500), "gave up at the command timeout, not at the end of the pause: \(waited)")

        // The admin's PING is held until the pause is over; then the connection can start again.
        #expect(try admin.send("PING") == .status("PONG"))
        try connection.reconnect()
        #expect(try connection.send("PING") == .status("PONG"))
    }
}
