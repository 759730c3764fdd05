// An optimistic transaction on a cluster runs on the master of the one slot all its keys share. It is three round
// trips to that node: [ASKING] WATCH keys, [ASKING] read; then the body decides; then [ASKING] MULTI, commands, EXEC.
// (ASKING before MULTI keeps its flag for the whole transaction, as Redis clears it only outside MULTI; ASKING
// inside MULTI would be queued instead.) These are the reply sequences an attempt can meet, and what the client does:
//
// 1. The slot is served here: WATCH +OK, the read's reply; MULTI +OK, +QUEUED per command, EXEC `*N` (committed) or
//    a null array (a conflict: a watched key changed; counted in `conflicts` and retried under the policy).
// 2. The slot moved away before the attempt (a stale map, a finished migration, a failover): WATCH answers -MOVED.
//    The map is updated and the whole attempt runs again on the new owner.
// 3. The slot moved between WATCH and the read, or while the body ran: the read, or every queued command, answers
//    -MOVED; Redis then answers EXEC with -EXECABORT and nothing ran. The first redirect among the queued replies is
//    followed with the whole attempt.
// 4. The slot is migrating and the keys are gone from here: WATCH (or a queued command) answers -ASK; the attempt
//    runs again on the importing node, with ASKING before WATCH, the read and MULTI, once, without changing the map.
//    When the keys are split between the two nodes, a multi-key WATCH or command answers -TRYAGAIN instead: the
//    attempt waits (full-jitter backoff within `retryDeadline`) and runs again. -CLUSTERDOWN, -LOADING and
//    -MASTERDOWN are waited out the same way.
// 5. The slot moved, or started or finished migrating, after the commands were queued and before EXEC (all +QUEUED):
//    EXEC itself answers -MOVED, -ASK or -TRYAGAIN; Redis discarded the transaction. Followed as in 2 and 4.
// 6. A command was refused for another reason (arity, ACL, OOM): +QUEUED..., -ERR..., -EXECABORT. Thrown as on one
//    server, naming the refusal: retrying would meet it again.
//
// A redirect at any point discards the attempt and counts it in `redirects`, never in `conflicts`; after
// `maxRedirects` of them the transaction throws `.tooManyRedirects`. A connection that breaks after EXEC was sent
// leaves the outcome unknown (`.outcomeUnknown`), and that is never retried here.

extension RedisClusterClient {
    /// Runs an optimistic transaction on the master of its slot: the same WATCH / read / body / MULTI … EXEC loop as
    /// ``RedisConnection/run(_:_:)``, following the cluster's redirects on the way (see the comment at the top of this
    /// file for every reply sequence).
    ///
    /// Every watched key and every key of the read must hash to one slot; that is checked before anything is sent.
    /// The keys of the commands the body commits must hash to the same slot; that is checked before MULTI is sent.
    ///
    /// - Parameters:
    ///   - transaction: the watched keys, the first read and the retry policy.
    ///   - body: reads `attempt.read` (and may read more on `attempt.connection`, the slot owner's connection) and
    ///     decides. It may run several times, on different nodes. An error it throws is rethrown after UNWATCH.
    /// - Returns: the outcome, with attempts (every WATCH sent), conflicts (null EXECs) and redirects.
    /// - Throws: `RedisError` `.misuse` for keys in more than one slot (naming each key and its slot);
    ///   `.tooManyRedirects`; `.serverError` for an error reply that is not a redirect (an EXECABORT names the
    ///   refused command); `.outcomeUnknown` when the connection failed after EXEC was sent; `.timeout`,
    ///   `.connectionLost`, `.protocolError` before that (nothing committed); and whatever `body` throws.
    public func run<Value>(
        _ transaction: OptimisticTransaction, _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        let keys = Array(transaction.watch.arguments.dropFirst()) + (transaction.read?.clusterKeys ?? [])
        let slot = try HashSlot.common(of: keys, in: "this transaction")
        let policy = transaction.policy
        let clock = ContinuousClock()
        let start = clock.now
        var route = Route(slot: slot, what: "the transaction")
        var attempts = 0
        var conflicts = 0
        var streak = 0
        func result(_ outcome: TransactionResult<Value>.Outcome) -> TransactionResult<Value> {
            TransactionResult(outcome: outcome, attempts: attempts, conflicts: conflicts, redirects: route.redirects)
        }
        while true {
            let (address, connection, asking) = try next(&route)
            attempts += 1
            let attempt: Attempt<Value>
            do {
                attempt = try self.attempt(
                    transaction, slot: slot, on: connection, asking: asking, number: attempts, body)
            } catch let error as RedisError {
                forget(address, after: error)
                throw error
            }
            switch attempt {
            case .committed(let results, let value):
                policy.committed(window: &connection.contention)
                return result(.committed(results: results, value: value))
            case .aborted(let value):
                return result(.aborted(value))
            case .turnedAway(let disposition):
                try follow(disposition, from: address, route: &route)
            case .conflicted:
                conflicts += 1
                streak += 1
                if let limit = policy.maxAttempts, attempts >= limit { return result(.exhausted(.maxAttempts)) }
                let pause = policy.delay(
                    afterConflictStreak: streak, window: &connection.contention, using: &connection.jitter)
                if let deadline = policy.deadline, clock.now + pause >= start + deadline {
                    return result(.exhausted(.deadline))
                }
                if pause > .zero { RedisConnection.sleep(pause) }
            }
        }
    }

    /// Builds an `OptimisticTransaction` and runs it on the cluster; see ``run(_:_:)``.
    public func transaction<Value>(
        watching keys: [RedisArgument], read: RedisCommand? = nil, policy: RetryPolicy = .immediate,
        _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        try run(OptimisticTransaction(watching: keys, read: read, policy: policy), body)
    }

    /// How one attempt ended.
    private enum Attempt<Value> {
        case committed([RedisReply], Value)
        case aborted(Value)
        case conflicted
        /// A redirect or a busy cluster: nothing ran; try the whole attempt again.
        case turnedAway(Disposition)
    }

    /// One attempt on one node: WATCH and the read, the body, MULTI … EXEC.
    private func attempt<Value>(
        _ transaction: OptimisticTransaction, slot: HashSlot?, on connection: RedisConnection, asking: Bool,
        number: Int, _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> Attempt<Value> {
        let prefix = asking ? [Self.asking] : []
        var head = prefix + [transaction.watch]
        if let read = transaction.read { head += prefix + [read] }
        let replies = try connection.pipeline(head)
        let watched = replies[prefix.count]
        let read = transaction.read == nil ? RedisReply.null : replies[replies.count - 1]
        for (reply, name) in [(watched, "WATCH"), (read, transaction.read?.name ?? "")] {
            guard let error = reply.errorReply else { continue }
            if !watched.isError { try connection.send(OptimisticTransaction.unwatch) }
            if let disposition = Self.disposition(of: error) { return .turnedAway(disposition) }
            throw RedisError.server(error, command: name)
        }
        if asking, let refusal = replies.first(where: \.isError)?.errorReply {
            throw RedisError.server(refusal, command: "ASKING")
        }
        let watchedOn = connection.contextGeneration
        let decision: TransactionDecision<Value>
        do {
            decision = try body(TransactionAttempt(number: number, read: read, connection: connection))
        } catch {
            if connection.isConnected { _ = try? connection.send(OptimisticTransaction.unwatch) }
            throw error
        }
        switch decision {
        case .abort(let value):
            try connection.send(OptimisticTransaction.unwatch)
            return .aborted(value)
        case .commit(let commands, let value):
            do {
                let written = try HashSlot.common(of: commands.flatMap(\.clusterKeys), in: "the transaction's commands")
                if let written, let slot, written != slot {
                    throw RedisError(
                        .misuse,
                        "the transaction watches keys in hash slot \(slot) but its commands write keys in slot \(written); Redis Cluster runs a transaction within one slot only, so give the keys one hash tag; nothing was committed"
                    )
                }
            } catch {
                _ = try? connection.send(OptimisticTransaction.unwatch)
                throw error
            }
            guard connection.isConnected, connection.contextGeneration == watchedOn else {
                throw RedisError(
                    .connectionLost,
                    "the connection to \(connection.endpoint.addressDescription) broke while the transaction body ran, so its WATCH was lost; nothing was committed"
                )
            }
            return try commit(commands, value, on: connection, asking: asking)
        }
    }

    /// [ASKING] MULTI, the commands and EXEC in one round trip, and what their replies say.
    private func commit<Value>(
        _ commands: [RedisCommand], _ value: Value, on connection: RedisConnection, asking: Bool
    ) throws(RedisError) -> Attempt<Value> {
        let batch =
            (asking ? [Self.asking] : []) + [OptimisticTransaction.multi] + commands + [OptimisticTransaction.exec]
        for command in batch { try connection.append(command) }
        var queued: [RedisReply] = []
        queued.reserveCapacity(batch.count - 1)
        let exec: RedisReply
        do {
            for _ in 0..<batch.count - 1 { queued.append(try connection.readReply()) }
            exec = try connection.readReply()
        } catch  where error.closesConnection {
            throw RedisError(
                .outcomeUnknown,
                "the transaction's outcome is unknown: \(error.message) after EXEC was sent to \(connection.endpoint.addressDescription); check whether it committed before retrying",
                errno: error.errno, cause: error.code)
        }
        switch exec {
        case .array(let results):
            return .committed(results, value)
        case .null:
            return .conflicted
        case .error(let error):
            // EXEC's own redirect (sequence 5), else the first queued redirect behind EXECABORT (3, 4).
            if let disposition = Self.disposition(of: error) { return .turnedAway(disposition) }
            let refusals = zip(batch, queued).filter { $0.1.isError }
            for (_, reply) in refusals {
                if let refusal = reply.errorReply, let disposition = Self.disposition(of: refusal) {
                    return .turnedAway(disposition)
                }
            }
            let detail = refusals.first.map { " (\($0.0.name) was refused: \($0.1.errorReply?.description ?? ""))" }
            throw RedisError(.serverError, "Redis discarded the transaction: \(error)\(detail ?? "")", reply: error)
        default:
            throw RedisError(.protocolError, "EXEC answered \(exec), which is not a transaction reply")
        }
    }
}
