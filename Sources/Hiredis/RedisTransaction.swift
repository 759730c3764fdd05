import CHiredis

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
        /// Conflict-rate tracking backoff, the default: the connection keeps a smoothed share of its attempts that
        /// conflicted and a smoothed attempt round trip. Above `conflictRate` the connection's window opens at one
        /// round trip and doubles on each further conflict (up to `cap`), and once the share falls below the target
        /// again it shrinks by a quarter per commit, closing entirely under half a round trip. A transaction's own
        /// streak of conflicts opens a window of its own, from one round trip doubling per conflict in a row (up to
        /// `cap`), so that two clients that collide step apart at once while the connection's rate is still low.
        /// After a conflict, pause a uniform random time below the wider of the two (waited out as the policy's
        /// `wait` says). Without conflicts nothing pauses: as fast as `.none` when contention is low.
        case tracking(conflictRate: Double, cap: Duration)
    }

    /// How the loop waits out a backoff's pause.
    public enum Wait: Sendable, Hashable, CaseIterable {
        /// `nanosleep`: the CPU is free for other work, and idles when there is none.
        case sleep
        /// `sched_yield` until the pause is over: any other runnable process or thread gets the CPU first, but the
        /// CPU never idles. On a machine whose idle CPUs halt (a VM with `haltpoll`, deep C-states), a reply that
        /// must wake a halted CPU costs more than a short pause waits; yielding keeps the CPU awake at the price of
        /// the CPU time a sleep would have given back. For load generators, not for a server's request path.
        case yield
    }

    /// Attempts allowed in all (the first included); `nil` for no limit.
    public var maxAttempts: Int?
    /// Time allowed from the first attempt; no attempt starts (and no sleep runs) past it. `nil` for no limit.
    public var deadline: Duration?
    public var backoff: Backoff
    /// How a pause is waited out: `.sleep` unless asked.
    public var wait: Wait

    public init(maxAttempts: Int? = nil, deadline: Duration? = nil, backoff: Backoff = .none, wait: Wait = .sleep) {
        self.maxAttempts = maxAttempts
        self.deadline = deadline
        self.backoff = backoff
        self.wait = wait
    }

    /// Retry at once, without limit: the classic redis-py loop.
    public static let immediate = RetryPolicy()

    /// Adaptive backoff from 1 ms up to 200 ms, without an attempt limit: the policy that holds up under contention.
    public static let adaptive = RetryPolicy(backoff: .adaptive(base: .milliseconds(1), cap: .milliseconds(200)))

    /// The default: conflict-rate tracking that keeps about one conflict per sale (half of the attempts), with
    /// full-jitter steps from one round trip after each conflict in a row, up to 100 ms.
    public static let tracking = RetryPolicy(backoff: .tracking(conflictRate: 0.5, cap: .milliseconds(100)))

    /// What a Redis Cluster client does while the cluster is busy (`TRYAGAIN`, `CLUSTERDOWN`, a failover): full-jitter
    /// exponential backoff from 10 ms up to 200 ms, for up to `deadline`.
    public static func clusterBusy(deadline: Duration = .seconds(5)) -> RetryPolicy {
        RetryPolicy(deadline: deadline, backoff: .exponential(base: .milliseconds(10), cap: .milliseconds(200)))
    }

    /// Whether the loop should time each attempt for the policy (only tracking backoff uses the round trip).
    var measuresRoundTrip: Bool {
        if case .tracking = backoff { return true }
        return false
    }

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
            ceiling = Self.doubling(base, streak: streak, cap: cap)
        case .adaptive(let base, let cap):
            window.conflicted(base: base, cap: cap)
            ceiling = window.current
        case .tracking(let target, let cap):
            window.conflicted(target: target, cap: cap)
            // A conflict streak of this transaction opens a window of its own, from one attempt's round trip,
            // doubling per conflict in a row: two clients that collide step apart at once, as with `.exponential`,
            // whatever the connection's smoothed rate says.
            ceiling = max(window.current, Self.doubling(window.roundTrip, streak: streak, cap: cap))
        }
        let ceilingNanos = RedisConnection.nanoseconds(ceiling)
        guard ceilingNanos > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0..<ceilingNanos, using: &generator))
    }

    /// Full jitter's ceiling after the `streak`-th conflict in a row: `base × 2^(streak-1)`, at most `cap`.
    private static func doubling(_ base: Duration, streak: Int, cap: Duration) -> Duration {
        min(cap, base * (1 << min(max(streak - 1, 0), 30)))
    }

    /// Tells an adaptive policy that a transaction committed.
    func committed(window: inout ContentionWindow) {
        switch backoff {
        case .adaptive(let base, _): window.committed(base: base)
        case .tracking(let target, _): window.committed(target: target)
        case .none, .exponential: break
        }
    }
}

/// The adaptive and tracking backoffs' window, kept per connection so that it carries what one transaction learned
/// about contention into the next.
struct ContentionWindow: Sendable {
    /// The ceiling of the next sleep; zero means retry at once.
    private(set) var current: Duration = .zero
    /// Tracking: the smoothed share of attempts that ended in a conflict, 0 to 1.
    private(set) var conflictRate: Double = 0
    /// Tracking: the smoothed time of one attempt (its two round trips), in nanoseconds; 0 until one was measured.
    private(set) var roundTripNanoseconds: Double = 0
    /// The weight of the newest observation in the smoothed figures: about the last sixteen attempts count.
    static let smoothing = 1.0 / 16

    /// Tracking: the smoothed attempt round trip.
    var roundTrip: Duration { .nanoseconds(Int64(roundTripNanoseconds)) }

    /// Tracking: one attempt took `duration`, from WATCH to the reply of EXEC (or UNWATCH).
    mutating func measured(_ duration: Duration) {
        let nanos = Double(RedisConnection.nanoseconds(duration))
        roundTripNanoseconds =
            roundTripNanoseconds == 0 ? nanos : roundTripNanoseconds + (nanos - roundTripNanoseconds) * Self.smoothing
    }

    /// Tracking: an attempt conflicted. Above the target rate the window opens at a round trip, then doubles.
    mutating func conflicted(target: Double, cap: Duration) {
        conflictRate += (1 - conflictRate) * Self.smoothing
        guard conflictRate > target else { return }
        current = min(cap, max(roundTrip, current * 2))
    }

    /// Tracking: an attempt committed. Below the target rate the window shrinks, and closes under half a round trip.
    mutating func committed(target: Double) {
        conflictRate -= conflictRate * Self.smoothing
        guard target > conflictRate, current > .zero else { return }
        current = current * 3 / 4
        if current * 2 < roundTrip { current = .zero }
    }

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
    /// Send the WATCH and the read again behind each EXEC, in the same round trip, for the next attempt: one round
    /// trip per attempt instead of two while the transaction runs back to back on one connection (a retry, or the
    /// next run of the same transaction). The next attempt finds its read already answered, taken just after the
    /// EXEC; a change between the two is a conflict as ever, since the WATCH came first. Anything else sent on the
    /// connection first (another command, another transaction) reads those replies and sends UNWATCH, in its own
    /// round trip or in the next attempt's. Off by default; a cluster's transactions never send ahead. For loops that
    /// run the same transaction again at once: after a wait, the read it finds is from before the wait.
    public var watchesAhead = false

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

/// What runs optimistic transactions: one server's connection (`RedisConnection`) or a cluster's slot owners
/// (`RedisClusterClient`).
public protocol OptimisticTransactionRunner {
    /// Runs `transaction`, retrying on conflicts as its policy says; see each runner's documentation.
    func run<Value>(
        _ transaction: OptimisticTransaction, _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value>
}

extension OptimisticTransactionRunner {
    /// Builds an `OptimisticTransaction` and runs it; see ``run(_:_:)``.
    public func transaction<Value>(
        watching keys: [RedisArgument], read: RedisCommand? = nil, policy: RetryPolicy = .immediate,
        _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        try run(OptimisticTransaction(watching: keys, read: read, policy: policy), body)
    }
}

extension RedisConnection: OptimisticTransactionRunner {
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
    ///
    /// Pre-specialized for `[Int64]?`, the value StockSim's watch sale hands back: called unspecialized from another
    /// module, every attempt instantiated its generic metadata at run time (the result, its outcome, the decision,
    /// the attempt's end and their payload tuples): about a quarter of the instructions of a `watch --no-ledger` sale's
    /// code in a worker under callgrind.
    @_specialize(exported:true,where Value == [Int64]?)
    public func run<Value>(
        _ transaction: OptimisticTransaction, _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        var placement = OneServer(connection: self)
        return try transaction.run(on: &placement, body)
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

    /// Waits `duration` the way `wait` says: asleep, or yielding the CPU until it is over.
    static func pause(_ duration: Duration, _ wait: RetryPolicy.Wait) {
        switch wait {
        case .sleep:
            sleep(duration)
        case .yield:
            let clock = ContinuousClock()
            let end = clock.now + duration
            repeat { sched_yield() } while clock.now < end
        }
    }
}

/// Where the attempts of an optimistic transaction run. On one server: always on its connection, and no reply turns
/// an attempt away. On a cluster: on the master of the transaction's slot, which a redirect (`MOVED`, `ASK`) or a busy
/// cluster (`TRYAGAIN` and the like) may change between attempts. Both run the one loop of
/// ``OptimisticTransaction/run(on:_:)``; this is all that differs.
protocol TransactionPlacement {
    /// Attempts turned away by a redirect so far.
    var redirects: Int { get }
    /// The connection of the next attempt, and the commands to send before each of its WATCH, read and MULTI
    /// (`ASKING` after an `ASK`).
    mutating func nextAttempt() throws(RedisError) -> (connection: RedisConnection, preamble: [RedisCommand])
    /// Whether an error reply means the attempt was turned away (nothing ran; run the whole attempt again) rather
    /// than refused.
    func turnsAway(_ error: RedisErrorReply) -> Bool
    /// Acts on what turned the last attempt away (follows the redirect, waits out the busy cluster) before the next
    /// one; throws when no further attempt is allowed.
    mutating func follow(_ error: RedisErrorReply) throws(RedisError)
    /// Checks the commands the body chose, before MULTI is sent.
    func check(_ commands: [RedisCommand]) throws(RedisError)
    /// Whether the next attempt's WATCH and read may go behind EXEC (``OptimisticTransaction/watchesAhead``): only on
    /// one server, where the next attempt runs on the same connection.
    var watchesAhead: Bool { get }
    /// Hears of the error that ends the transaction, thrown by the attempt on the connection of `nextAttempt()`.
    func failed(_ error: RedisError)
}

/// One server: every attempt on one connection, never turned away.
struct OneServer: TransactionPlacement {
    let connection: RedisConnection
    var redirects: Int { 0 }
    func nextAttempt() -> (connection: RedisConnection, preamble: [RedisCommand]) { (connection, []) }
    func turnsAway(_ error: RedisErrorReply) -> Bool { false }
    func follow(_ error: RedisErrorReply) {}
    func check(_ commands: [RedisCommand]) {}
    func failed(_ error: RedisError) {}
    var watchesAhead: Bool { true }
}

extension OptimisticTransaction {
    /// How one attempt ended.
    private enum AttemptEnd<Value> {
        case committed([RedisReply], Value)
        case aborted(Value)
        /// A null EXEC: a watched key changed.
        case conflicted
        /// The placement turned the attempt away with this reply; nothing ran.
        case turnedAway(RedisErrorReply)
    }

    /// The optimistic transaction loop of one server and of a cluster: attempts on the placement's connection until
    /// one commits or aborts, conflicts retried under the policy, turned-away attempts followed and counted apart.
    func run<Value>(
        on placement: inout some TransactionPlacement,
        _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        let clock = ContinuousClock()
        let start = policy.deadline == nil ? nil : clock.now
        var attempts = 0
        var conflicts = 0
        var streak = 0
        while true {
            let (connection, preamble) = try placement.nextAttempt()
            // WATCH inside MULTI is refused by the server, but the read and UNWATCH sent with it would be queued into
            // the caller's transaction: refuse before sending anything.
            guard !connection.isInTransaction else {
                throw RedisError(
                    .misuse,
                    "an optimistic transaction cannot run inside the caller's open MULTI on \(connection.endpoint.addressDescription); send EXEC or DISCARD first (nothing was sent)"
                )
            }
            attempts += 1
            let end: AttemptEnd<Value>
            let began = policy.measuresRoundTrip ? clock.now : nil
            do {
                end = try attempt(attempts, on: connection, preamble: preamble, placement: placement, body)
            } catch let error as RedisError {
                placement.failed(error)
                throw error
            }
            if let began { connection.contention.measured(clock.now - began) }
            let outcome: TransactionResult<Value>.Outcome?
            switch end {
            case .committed(let results, let value):
                policy.committed(window: &connection.contention)
                outcome = .committed(results: results, value: value)
            case .aborted(let value):
                outcome = .aborted(value)
            case .turnedAway(let error):
                try placement.follow(error)
                outcome = nil
            case .conflicted:
                conflicts += 1
                streak += 1
                if let limit = policy.maxAttempts, attempts >= limit {
                    outcome = .exhausted(.maxAttempts)
                    break
                }
                let pause = policy.delay(
                    afterConflictStreak: streak, window: &connection.contention, using: &connection.jitter)
                if let deadline = policy.deadline, let start, clock.now + pause >= start + deadline {
                    outcome = .exhausted(.deadline)
                    break
                }
                if pause > .zero {
                    // A WATCH sent ahead would carry a change made during the pause into the next attempt.
                    connection.watchAhead?.stale = true
                    RedisConnection.pause(pause, policy.wait)
                }
                outcome = nil
            }
            if let outcome {
                return TransactionResult(
                    outcome: outcome, attempts: attempts, conflicts: conflicts, redirects: placement.redirects)
            }
        }
    }

    /// One attempt on one connection: [preamble] WATCH and [preamble] the read in one round trip, the body, then
    /// [preamble] MULTI, the commands and EXEC in one round trip.
    private func attempt<Value>(
        _ number: Int, on connection: RedisConnection, preamble: [RedisCommand], placement: some TransactionPlacement,
        _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> AttemptEnd<Value> {
        // A WATCH and read sent behind the last EXEC are this attempt's when they are this transaction's and no pause
        // came between; any others are read and dropped, with UNWATCH sent before this attempt's WATCH.
        var sentAhead = false
        if preamble.isEmpty, let ahead = connection.watchAhead, !ahead.stale, ahead.watch == watch, ahead.read == read {
            connection.watchAhead = nil
            sentAhead = true
        }
        let unwatchFirst = try !sentAhead && connection.dropWatchAhead()
        if !sentAhead {
            // Without a preamble (one server) the WATCH and the read are queued as they are: no array per attempt.
            for command in preamble { try connection.append(command) }
            try connection.append(watch)
            if let read {
                for command in preamble { try connection.append(command) }
                try connection.append(read)
            }
        }
        if unwatchFirst { _ = try connection.readErrorReply() }
        var refusal: RedisErrorReply?
        for _ in preamble {
            let error = try connection.readErrorReply()
            refusal = refusal ?? error
        }
        let watched = try connection.readReply()
        var readReply = RedisReply.null
        if read != nil {
            for _ in preamble {
                let error = try connection.readErrorReply()
                refusal = refusal ?? error
            }
            readReply = try connection.readReply()
        }
        // The command's name only on the way to a message.
        if let error = watched.errorReply ?? readReply.errorReply {
            // Every reply was read, so the connection is in step; drop the watch if it was taken.
            if !watched.isError { try connection.send(Self.unwatch) }
            if placement.turnsAway(error) { return .turnedAway(error) }
            throw RedisError.server(error, command: watched.isError ? "WATCH" : read?.name ?? "")
        }
        if let refusal {
            throw RedisError.server(refusal, command: preamble.first?.name ?? "")
        }
        let watchedOn = connection.contextGeneration
        let decision: TransactionDecision<Value>
        do {
            decision = try body(TransactionAttempt(number: number, read: readReply, connection: connection))
        } catch {
            if connection.isConnected { _ = try? connection.send(Self.unwatch) }
            throw error
        }
        switch decision {
        case .abort(let value):
            try connection.send(Self.unwatch)
            return .aborted(value)
        case .commit(let commands, let value):
            do {
                try placement.check(commands)
            } catch {
                _ = try? connection.send(Self.unwatch)
                throw error
            }
            // If the connection broke while the body ran, its WATCH went with it; with `.onNextCommand` MULTI would
            // open a new context and EXEC would commit unguarded. Nothing was sent: say so.
            guard connection.isConnected, connection.contextGeneration == watchedOn else {
                throw RedisError(
                    .connectionLost,
                    "the connection to \(connection.endpoint.addressDescription) broke while the transaction body ran, so its WATCH was lost; nothing was committed"
                        + (connection.closingError.map { " (\($0.message))" } ?? ""))
            }
            return try commit(commands, value, on: connection, preamble: preamble, placement: placement)
        }
    }

    /// [preamble] MULTI, the commands and EXEC in one round trip, and what their replies say.
    private func commit<Value>(
        _ commands: [RedisCommand], _ value: Value, on connection: RedisConnection, preamble: [RedisCommand],
        placement: some TransactionPlacement
    ) throws(RedisError) -> AttemptEnd<Value> {
        for command in preamble { try connection.append(command) }
        try connection.append(Self.multi)
        for command in commands { try connection.append(command) }
        try connection.append(Self.exec)
        if watchesAhead && placement.watchesAhead {
            try connection.append(watch)
            if let read { try connection.append(read) }
            connection.watchAhead = RedisConnection.WatchAhead(watch: watch, read: read)
        }
        // Once the batch is queued, any failure to read the replies leaves EXEC's fate unknown. Of the queued
        // replies (`+QUEUED`, the preamble's `+OK`) only the refusals are kept, with where they were in the batch.
        var refused: [(index: Int, reply: RedisErrorReply)] = []
        let exec: RedisReply
        do {
            for index in 0..<preamble.count + 1 + commands.count {
                if let error = try connection.readErrorReply() { refused.append((index, error)) }
            }
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
            // EXEC's own redirect, else the first queued one behind EXECABORT: the attempt was turned away.
            if placement.turnsAway(error) { return .turnedAway(error) }
            if let away = refused.lazy.map(\.reply).first(where: placement.turnsAway) {
                return .turnedAway(away)
            }
            // EXECABORT: a command was refused while queueing, so nothing ran. Name the first refusal.
            func command(at index: Int) -> RedisCommand {
                index < preamble.count
                    ? preamble[index] : index == preamble.count ? Self.multi : commands[index - preamble.count - 1]
            }
            let detail = refused.first.map { " (\(command(at: $0.index).name) was refused: \($0.reply.description))" }
            throw RedisError(.serverError, "Redis discarded the transaction: \(error)\(detail ?? "")", reply: error)
        default:
            throw RedisError(.protocolError, "EXEC answered \(exec), which is not a transaction reply")
        }
    }
}

extension RedisConnection {
    /// Reads the next reply and returns it only when it is an error reply: the `+QUEUED` and `+OK` replies of a
    /// transaction's batch are looked at in hiredis's tree and not copied into Swift.
    func readErrorReply() throws(RedisError) -> RedisErrorReply? {
        try withNextReply { raw in raw.pointee.type == REDIS_REPLY_ERROR ? Self.copy(raw).errorReply : nil }
    }
}
