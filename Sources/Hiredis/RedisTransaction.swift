#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How an optimistic transaction retries after a conflict (a null EXEC: a watched key changed).
public struct RetryPolicy: Sendable, Hashable {
    /// How long to wait before the next attempt after a conflict.
    public enum Backoff: Sendable, Hashable {
        /// Retry at once.
        case none
        /// Full-jitter exponential backoff: after the n-th conflict in a row, sleep a uniform random time in
        /// `0 ..< min(cap, base × 2^(n-1))`.
        case exponential(base: Duration, cap: Duration)
        /// Contention-aware backoff: a window kept on the connection across transactions doubles on every conflict
        /// (up to `cap`) and shrinks by a tenth on every commit (down to `base`); after a conflict, sleep a uniform
        /// random time in `0 ..< window`. Many clients on one hot key thus settle where about one attempt in eight
        /// conflicts, instead of collapsing into retries.
        case adaptive(base: Duration, cap: Duration)
    }

    /// Attempts allowed in all (the first included); `nil` for no limit.
    public var maxAttempts: Int?
    /// Time allowed from the first attempt; no attempt starts (and no sleep runs) past it. `nil` for no limit.
    public var deadline: Duration?
    public var backoff: Backoff

    public init(maxAttempts: Int? = nil, deadline: Duration? = nil, backoff: Backoff = .none) {
        self.maxAttempts = maxAttempts
        self.deadline = deadline
        self.backoff = backoff
    }

    /// Retry at once, without limit: the classic redis-py loop.
    public static let immediate = RetryPolicy()

    /// Adaptive backoff from 1 ms up to 200 ms, without an attempt limit: the policy that holds up under contention.
    public static let adaptive = RetryPolicy(backoff: .adaptive(base: .milliseconds(1), cap: .milliseconds(200)))

    /// The sleep before the attempt that follows the `streak`-th conflict in a row.
    func delay(
        afterConflictStreak streak: Int, window: inout ContentionWindow,
        using generator: inout some RandomNumberGenerator
    ) -> Duration {
        let ceiling: Duration
        switch backoff {
        case .none:
            return .zero
        case .exponential(let base, let cap):
            ceiling = min(cap, base * (1 << min(max(streak - 1, 0), 30)))
        case .adaptive(let base, let cap):
            window.conflicted(base: base, cap: cap)
            ceiling = window.current
        }
        let ceilingNanos = RedisConnection.nanoseconds(ceiling)
        guard ceilingNanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0..<ceilingNanos, using: &generator))
    }

    /// Tells an adaptive policy that a transaction committed.
    func committed(window: inout ContentionWindow) {
        if case .adaptive(let base, _) = backoff { window.committed(base: base) }
    }
}

/// The adaptive backoff's window, kept per connection so that it carries what one transaction learned about
/// contention into the next.
struct ContentionWindow: Sendable {
    private(set) var current: Duration = .zero

    mutating func conflicted(base: Duration, cap: Duration) {
        current = min(cap, max(base, current * 2))
    }

    mutating func committed(base: Duration) {
        current = current > base ? max(base, current * 0.9) : .zero
    }
}

/// What the body of an optimistic transaction decided after reading the watched keys.
public enum TransactionDecision<Value> {
    /// Send MULTI, these commands and EXEC. `Value` is handed back in the result when EXEC commits.
    case commit([RedisCommand], Value)
    /// Give up without writing; UNWATCH is sent. `Value` is handed back in the result.
    case abort(Value)
}

extension TransactionDecision where Value == Void {
    public static func commit(_ commands: [RedisCommand]) -> Self { .commit(commands, ()) }
    public static var abort: Self { .abort(()) }
}

/// What the body sees on each attempt.
public struct TransactionAttempt {
    /// 1 for the first attempt.
    public let number: Int
    /// The reply to the read sent together with WATCH (`.null` when no read was given).
    public let read: RedisReply
    /// The connection, for further reads under the same WATCH (each one is a round trip).
    public let connection: RedisConnection
}

/// How an optimistic transaction ended. Conflicts are counted, never thrown.
public struct TransactionResult<Value> {
    public enum Outcome {
        /// EXEC ran: one reply per queued command (an error reply of one command is an element, as Redis sends it).
        case committed(results: [RedisReply], value: Value)
        /// The body chose `.abort`.
        case aborted(Value)
        /// Every attempt allowed by the policy conflicted.
        case exhausted(ExhaustionReason)
    }

    public enum ExhaustionReason: Sendable, Hashable {
        case maxAttempts
        case deadline
    }

    public var outcome: Outcome
    /// Attempts made (WATCH sent), the successful one included.
    public var attempts: Int
    /// Attempts that ended in a null EXEC.
    public var conflicts: Int
    /// Attempts a Redis Cluster redirected (`MOVED`, `ASK`) to another node; never counted as conflicts. Always 0 on
    /// a single server.
    public var redirects: Int = 0
}

extension TransactionResult: Sendable where Value: Sendable {}
extension TransactionResult.Outcome: Sendable where Value: Sendable {}

/// A WATCH/MULTI/EXEC transaction prepared once and run many times: the WATCH, MULTI, EXEC and UNWATCH commands are
/// encoded when it is made, not on every attempt.
public struct OptimisticTransaction: Sendable {
    let watch: RedisCommand
    let read: RedisCommand?
    public var policy: RetryPolicy

    /// - Parameters:
    ///   - keys: the keys to WATCH; at least one.
    ///   - read: a command sent in the same round trip as WATCH (typically `GET` of the key), or `nil`.
    ///   - policy: how to retry after a conflict.
    public init(watching keys: [RedisArgument], read: RedisCommand? = nil, policy: RetryPolicy = .immediate) {
        self.watch = RedisCommand([RedisArgument("WATCH")] + keys)
        self.read = read
        self.policy = policy
    }

    static let multi = RedisCommand("MULTI")
    static let exec = RedisCommand("EXEC")
    static let unwatch = RedisCommand("UNWATCH")
}

extension RedisConnection {
    /// Runs an optimistic transaction: WATCH (with the first read, in one round trip), let `body` decide, then MULTI,
    /// the commands and EXEC in one round trip; on a conflict, back off and try again as the policy says.
    ///
    /// - Parameters:
    ///   - transaction: the watched keys, the first read and the retry policy.
    ///   - body: reads `attempt.read` (and may read more on `attempt.connection`) and decides to commit or abort.
    ///     It may run several times. An error it throws is rethrown after UNWATCH.
    /// - Returns: the outcome with the number of attempts and conflicts.
    /// - Throws: `RedisError` `.serverError` when WATCH or the read fail, or when EXEC answers `EXECABORT` (a command
    ///   was refused while queueing; nothing ran); `.outcomeUnknown` when the connection failed after EXEC was sent
    ///   and before its reply arrived (the caller must find out whether it committed: it is never retried here);
    ///   `.timeout`, `.connectionLost`, `.protocolError` before EXEC was sent (nothing was committed), also when the
    ///   connection broke while `body` ran and took the WATCH with it; `.misuse`, with nothing sent, when the
    ///   connection is inside a MULTI of the caller's (``RedisConnection/isInTransaction``); and whatever `body`
    ///   throws.
    public func run<Value>(
        _ transaction: OptimisticTransaction, _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        // WATCH inside MULTI is refused by the server, but the read and UNWATCH sent with it would be queued into the
        // caller's transaction: refuse before sending anything.
        guard !isInTransaction else {
            throw RedisError(
                .misuse,
                "an optimistic transaction cannot run inside the caller's open MULTI on \(endpoint.addressDescription); send EXEC or DISCARD first (nothing was sent)"
            )
        }
        let policy = transaction.policy
        let clock = ContinuousClock()
        let start = policy.deadline == nil ? nil : clock.now
        var attempts = 0
        var conflicts = 0
        var streak = 0
        while true {
            attempts += 1
            let read = try watchAndRead(transaction)
            let watchedOn = contextGeneration
            let decision: TransactionDecision<Value>
            do {
                decision = try body(TransactionAttempt(number: attempts, read: read, connection: self))
            } catch {
                if isConnected { _ = try? send(OptimisticTransaction.unwatch) }
                throw error
            }
            switch decision {
            case .abort(let value):
                try send(OptimisticTransaction.unwatch)
                return TransactionResult(outcome: .aborted(value), attempts: attempts, conflicts: conflicts)
            case .commit(let commands, let value):
                // If the connection broke while the body ran, its WATCH went with it; with `.onNextCommand` MULTI
                // would open a new context and EXEC would commit unguarded. Nothing was sent: say so.
                guard isConnected, contextGeneration == watchedOn else {
                    throw RedisError(
                        .connectionLost,
                        "the connection to \(endpoint.addressDescription) broke while the transaction body ran, so its WATCH was lost; nothing was committed"
                            + (closingError.map { " (\($0.message))" } ?? ""))
                }
                if let results = try commit(commands) {
                    policy.committed(window: &contention)
                    return TransactionResult(
                        outcome: .committed(results: results, value: value), attempts: attempts, conflicts: conflicts)
                }
            }
            conflicts += 1
            streak += 1
            if let limit = policy.maxAttempts, attempts >= limit {
                return TransactionResult(outcome: .exhausted(.maxAttempts), attempts: attempts, conflicts: conflicts)
            }
            let pause = policy.delay(afterConflictStreak: streak, window: &contention, using: &jitter)
            if let deadline = policy.deadline, let start, clock.now + pause >= start + deadline {
                return TransactionResult(outcome: .exhausted(.deadline), attempts: attempts, conflicts: conflicts)
            }
            if pause > .zero { Self.sleep(pause) }
        }
    }

    /// Builds an `OptimisticTransaction` and runs it; see ``run(_:_:)``.
    public func transaction<Value>(
        watching keys: [RedisArgument], read: RedisCommand? = nil, policy: RetryPolicy = .immediate,
        _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        try run(OptimisticTransaction(watching: keys, read: read, policy: policy), body)
    }

    /// WATCH and the first read in one round trip.
    private func watchAndRead(_ transaction: OptimisticTransaction) throws(RedisError) -> RedisReply {
        try append(transaction.watch)
        if let read = transaction.read { try append(read) }
        let watched = try readReply()
        let read = try transaction.read.map { _ throws(RedisError) in try readReply() } ?? .null
        if case .error(let error) = watched {
            // The read's reply was consumed above, so the connection is in step; drop the (failed) watch state.
            _ = try? send(OptimisticTransaction.unwatch)
            throw RedisError.server(error, command: "WATCH")
        }
        if case .error(let error) = read, let command = transaction.read {
            try send(OptimisticTransaction.unwatch)
            throw RedisError.server(error, command: command.name)
        }
        return read
    }

    /// MULTI, the commands and EXEC in one round trip. Returns EXEC's results, or `nil` for a conflict.
    private func commit(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply]? {
        // Once the batch is queued, any failure to read the replies leaves EXEC's fate unknown.
        try append(OptimisticTransaction.multi)
        for command in commands { try append(command) }
        try append(OptimisticTransaction.exec)
        var queueReplies: [RedisReply] = []
        queueReplies.reserveCapacity(commands.count + 1)
        let exec: RedisReply
        do {
            for _ in 0...commands.count { queueReplies.append(try readReply()) }
            exec = try readReply()
        } catch  where error.closesConnection {
            throw RedisError(
                .outcomeUnknown,
                "the transaction's outcome is unknown: \(error.message) after EXEC was sent; check whether it committed before retrying",
                errno: error.errno, cause: error.code)
        }
        switch exec {
        case .array(let results):
            return results
        case .null:
            return nil
        case .error(let error):
            // EXECABORT: a command was refused while queueing, so nothing ran. Name the first refusal.
            let refused = zip([OptimisticTransaction.multi] + commands, queueReplies).first { $0.1.isError }
            let detail = refused.map { " (\($0.0.name) was refused: \($0.1.errorReply?.description ?? ""))" } ?? ""
            throw RedisError(.serverError, "Redis discarded the transaction: \(error)\(detail)", reply: error)
        default:
            throw RedisError(.protocolError, "EXEC answered \(exec), which is not a transaction reply")
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    static func sleep(_ duration: Duration) {
        let nanos = nanoseconds(duration)
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
