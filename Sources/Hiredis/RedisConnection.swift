import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking connection to one Redis server over one hiredis context.
///
/// A connection is not `Sendable`: it belongs to one thread or task at a time (hand it over with `sending`), because a
/// hiredis context is single-threaded. It owns its context and frees it exactly once, in `close()` or `deinit`.
///
/// After an I/O, timeout or protocol error the hiredis context is dead: the connection frees it at once and never
/// reuses it. What happens next is set by ``Options/reconnect``: with `.manual` (the default) every command throws
/// `.misuse` until you call ``reconnect()``; with `.onNextCommand` the next command connects again first. Either way
/// nothing is retried behind your back: a command that failed is reported as failed.
public final class RedisConnection {
    /// How to connect, and what to do after the connection breaks.
    public struct Options: Sendable {
        /// Time allowed to open the TCP or unix-socket connection; `nil` waits as long as the OS does.
        public var connectTimeout: Duration?
        /// Time allowed for each reply; `nil` waits without limit. A timeout closes the connection.
        public var commandTimeout: Duration?
        /// Turn on TCP keepalive (hiredis's `redisEnableKeepAlive`, 15 s interval).
        public var keepAlive: Bool
        /// When to connect again after the connection broke.
        public var reconnect: ReconnectPolicy
        /// A name sent with `CLIENT SETNAME` on connect, to find the connection in `CLIENT LIST`.
        public var clientName: String?

        public init(
            connectTimeout: Duration? = .seconds(5), commandTimeout: Duration? = nil, keepAlive: Bool = true,
            reconnect: ReconnectPolicy = .manual, clientName: String? = nil
        ) {
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.keepAlive = keepAlive
            self.reconnect = reconnect
            self.clientName = clientName
        }
    }

    public enum ReconnectPolicy: Sendable, Hashable {
        /// A broken connection stays closed until `reconnect()` is called.
        case manual
        /// A broken connection connects again on the next command.
        case onNextCommand
    }

    public let endpoint: RedisEndpoint
    public let options: Options

    // The state below is read and written on every command. A connection belongs to one thread at a time (it is not
    // `Sendable`), so the runtime's exclusivity checks on it are turned off (`@exclusivity(unchecked)`): they were
    // about a ninth of the instructions of a `watch` sale in a worker (two dozen accesses per sale, each one entered
    // into and removed from the thread's access set).
    @exclusivity(unchecked) private var context: UnsafeMutablePointer<redisContext>?
    /// Where hiredis builds this connection's replies (see `chiredis_arena` in the shim): kept across contexts, freed in
    /// `deinit`; `nil` if it could not be allocated, and hiredis then allocates each reply itself.
    private let arena = chiredis_arena_create()
    /// Commands appended to the context whose replies have not been read yet.
    @exclusivity(unchecked) private var pendingReplies = 0
    /// Replies read since the context opened, and the MULTI, EXEC and DISCARD among the commands appended (by the
    /// number their reply will have), so that ``isInTransaction`` follows the server's state without a look at every
    /// reply on the hot path.
    @exclusivity(unchecked) private var repliesRead = 0
    /// The marks not yet reached start at `nextMark`: a reply passes one without moving the rest of the array.
    @exclusivity(unchecked) private var transactionMarks: [(reply: Int, opens: Bool)] = []
    @exclusivity(unchecked) private var nextMark = 0
    /// True after a MULTI the server accepted and before its EXEC or DISCARD was answered: commands sent now are
    /// queued, not run. A closed or reconnected connection is never inside MULTI.
    @exclusivity(unchecked) public private(set) var isInTransaction = false
    /// The error that closed the connection, if it is closed because of one.
    public private(set) var closingError: RedisError?
    /// Counts the contexts opened so far. WATCH belongs to the context it was sent on, so a transaction checks that it
    /// commits on the same one.
    @exclusivity(unchecked) private(set) var contextGeneration = 0
    /// Random numbers for retry jitter: cheap and per connection, so workers never share a generator.
    @exclusivity(unchecked) var jitter: SplitMix64
    /// What adaptive backoff has learned about contention on this connection.
    @exclusivity(unchecked) var contention = ContentionWindow()
    /// The WATCH and read a transaction sent behind its EXEC for its next attempt
    /// (``OptimisticTransaction/watchesAhead``): their replies are the next to arrive.
    @exclusivity(unchecked) var watchAhead: WatchAhead?

    struct WatchAhead {
        var watch: RedisCommand
        var read: RedisCommand?
        /// A backoff's pause came after it was sent: the read is old, and the WATCH may have seen a change that the
        /// next attempt must not inherit.
        var stale = false
    }

    /// Connects, then sends AUTH, SELECT and CLIENT SETNAME as the endpoint and options ask.
    ///
    /// - Parameters:
    ///   - endpoint: where to connect and how to log in.
    ///   - options: timeouts, keepalive, reconnect policy.
    /// - Throws: `RedisError` `.cannotConnect` naming the address and the cause (refused, unknown host, timed out,
    ///   refused credentials, a database that does not exist).
    public init(endpoint: RedisEndpoint, options: Options = Options()) throws(RedisError) {
        Self.ignoreSIGPIPE
        self.endpoint = endpoint
        self.options = options
        self.jitter = SplitMix64(seed: UInt64.random(in: .min ... .max))
        try connect()
    }

    /// Connects to a URL (`redis://…` or `unix://…`).
    ///
    /// - Throws: `RedisError` `.invalidEndpoint` for a bad URL, or as ``init(endpoint:options:)``.
    public convenience init(url: String, options: Options = Options()) throws(RedisError) {
        try self.init(endpoint: RedisEndpoint(url: url), options: options)
    }

    deinit {
        if let context { redisFree(context) }
        chiredis_arena_free(arena)
    }

    /// True while the connection has a live hiredis context.
    public var isConnected: Bool { context != nil }

    /// Closes the connection now. Further commands throw `.misuse` (or reconnect, with `.onNextCommand`).
    public func close() {
        dropContext()
        closingError = nil
    }

    /// Closes the current context, if any, and connects again with the same endpoint and options.
    ///
    /// - Throws: `RedisError` `.cannotConnect` as ``init(endpoint:options:)``.
    public func reconnect() throws(RedisError) {
        dropContext()
        try connect()
    }

    /// The operating-system descriptor of the live connection, for fault injection in tests.
    public var fileDescriptor: Int32? { context.map { chiredis_fd($0) } }

    // MARK: Commands

    /// Sends one command and waits for its reply.
    ///
    /// - Parameter command: the command; build it once with `RedisCommand` when it is sent often.
    /// - Returns: the reply; an error reply is thrown, never returned.
    /// - Throws: `RedisError` `.serverError` for an error reply (the connection stays usable), `.timeout`,
    ///   `.connectionLost` or `.protocolError` (the connection is closed), `.misuse` on a closed connection.
    @discardableResult
    public func send(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        let reply = try request(command)
        if case .error(let error) = reply { throw RedisError.server(error, command: command.name) }
        return reply
    }

    /// Sends one command and returns its reply as it came, an error reply included (as one element of a pipeline).
    ///
    /// - Throws: `RedisError` `.timeout`, `.connectionLost` or `.protocolError` (the connection is closed), `.misuse`
    ///   on a closed connection. Never `.serverError`: an error reply is returned.
    public func request(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        try settleWatchAhead()
        try append(command)
        return try readReply()
    }

    /// `send(RedisCommand(name, arguments...))`.
    @discardableResult
    public func send(_ name: String, _ arguments: RedisArgument...) throws(RedisError) -> RedisReply {
        try send(RedisCommand([RedisArgument(name)] + arguments))
    }

    /// Queues all commands, writes them with one flush and reads one reply for each, in order.
    ///
    /// - Parameter commands: the commands, in the order the server runs them.
    /// - Returns: one reply per command; error replies are elements, not thrown.
    /// - Throws: `RedisError` for I/O, timeout and protocol failures (the connection is closed), `.misuse` on a
    ///   closed connection.
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        try settleWatchAhead()
        for command in commands { try append(command) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply()) }
        return replies
    }

    // MARK: Lower level, for the transaction helper

    /// Before any command but the attempt a WATCH was sent ahead for: reads the replies sent ahead and drops that
    /// WATCH, so that replies stay in step and no later EXEC is guarded by it.
    func settleWatchAhead() throws(RedisError) {
        if try dropWatchAhead() { _ = try readErrorReply() }
    }

    /// Reads the replies of a WATCH and read sent ahead, if any, and queues UNWATCH, whose reply the caller reads
    /// after whatever it queues with it. Returns whether it queued UNWATCH.
    func dropWatchAhead() throws(RedisError) -> Bool {
        guard let ahead = watchAhead else { return false }
        watchAhead = nil
        _ = try readErrorReply()
        if ahead.read != nil { _ = try readErrorReply() }
        try append(OptimisticTransaction.unwatch)
        return true
    }

    /// Queues a command in hiredis's output buffer without writing it.
    func append(_ command: RedisCommand) throws(RedisError) {
        guard !command.isEmpty else { throw RedisError(.misuse, "cannot send an empty command") }
        let context = try liveContext()
        // Already in wire format: hiredis copies the bytes into its output buffer as they are.
        let status = command.encoded.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        guard status == REDIS_OK else {
            throw fail(context, errno: ENOMEM, during: "queueing \(command.name)")
        }
        pendingReplies += 1
        if let opens = command.transactionBoundary {
            transactionMarks.append((reply: repliesRead + pendingReplies, opens: opens))
        }
    }

    /// Reads the next reply, flushing queued commands first. Copies the reply into Swift and frees it at once.
    func readReply() throws(RedisError) -> RedisReply {
        try withNextReply { raw throws(RedisError) in Self.copy(raw) }
    }

    /// Reads the next reply, flushing queued commands first, and hands hiredis's reply tree to `body`, then frees
    /// it: the tree is valid only during the call, and no pointer into it may outlive it.
    func withNextReply<Value>(_ body: (UnsafeMutablePointer<redisReply>) throws(RedisError) -> Value)
        throws(RedisError) -> Value
    {
        guard let context else { throw closedError() }
        var raw: UnsafeMutablePointer<redisReply>?
        var savedErrno: Int32 = 0
        let status = chiredis_get_reply(context, arena, &raw, &savedErrno)
        guard status == REDIS_OK, let raw else {
            throw fail(context, errno: savedErrno, during: "reading a reply")
        }
        defer { chiredis_release_reply(arena, raw) }
        pendingReplies -= 1
        repliesRead += 1
        if nextMark < transactionMarks.count, transactionMarks[nextMark].reply == repliesRead {
            let mark = transactionMarks[nextMark]
            nextMark += 1
            if nextMark == transactionMarks.count {
                transactionMarks.removeAll(keepingCapacity: true)
                nextMark = 0
            }
            // MULTI opens only when accepted (a nested one is refused and leaves the first open); EXEC and DISCARD
            // close whatever they answer (EXECABORT included).
            isInTransaction = mark.opens ? isInTransaction || raw.pointee.type != REDIS_REPLY_ERROR : false
        }
        return try body(raw)
    }

    /// Writes the queued commands now, without waiting for a reply, so that the server works while the caller does.
    func flush() throws(RedisError) {
        let context = try liveContext()
        var savedErrno: Int32 = 0
        guard chiredis_flush(context, &savedErrno) == REDIS_OK else {
            throw fail(context, errno: savedErrno, during: "writing commands")
        }
    }

    // MARK: Connection state

    private func liveContext() throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        if options.reconnect == .onNextCommand, closingError != nil {
            try connect()
            if let context { return context }
        }
        throw closedError()
    }

    private func closedError() -> RedisError {
        if let closingError {
            return RedisError(
                .misuse,
                "the connection to \(endpoint.addressDescription) was closed by an earlier error (\(closingError.message)); call reconnect()"
            )
        }
        return RedisError(.misuse, "the connection to \(endpoint.addressDescription) is closed; call reconnect()")
    }

    private func dropContext() {
        if let context {
            redisFree(context)
            self.context = nil
        }
        pendingReplies = 0
        repliesRead = 0
        transactionMarks.removeAll()
        nextMark = 0
        watchAhead = nil
        isInTransaction = false
    }

    /// Turns the context's error into a `RedisError`, frees the dead context and remembers why.
    private func fail(_ context: UnsafeMutablePointer<redisContext>, errno savedErrno: Int32, during what: String)
        -> RedisError
    {
        let error = Self.error(from: context, errno: savedErrno, address: endpoint.addressDescription, during: what)
        dropContext()
        closingError = error
        return error
    }

    static func error(
        from context: UnsafeMutablePointer<redisContext>, errno savedErrno: Int32, address: String, during what: String
    ) -> RedisError {
        let text = String(cString: chiredis_errstr(context))
        switch chiredis_err(context) {
        case REDIS_ERR_IO where savedErrno == EAGAIN || savedErrno == EWOULDBLOCK || savedErrno == ETIMEDOUT:
            return RedisError(
                .timeout,
                "no reply from \(address) within the command timeout while \(what); the connection was closed",
                errno: savedErrno)
        case REDIS_ERR_IO:
            return RedisError(
                .connectionLost, "lost the connection to \(address) while \(what): \(text)", errno: savedErrno)
        case REDIS_ERR_EOF:
            return RedisError(.connectionLost, "\(address) closed the connection while \(what)")
        case REDIS_ERR_PROTOCOL:
            return RedisError(
                .protocolError,
                "\(address) answered with something that is not Redis's protocol while \(what) (\(text)); is it a Redis server?"
            )
        default:
            return RedisError(.connectionLost, "the connection to \(address) failed while \(what): \(text)")
        }
    }

    private func connect() throws(RedisError) {
        dropContext()
        let address = endpoint.addressDescription
        let connectMicros = options.connectTimeout.map { Self.microseconds($0) } ?? 0
        var savedErrno: Int32 = 0
        let maybeContext: UnsafeMutablePointer<redisContext>? =
            switch endpoint.address {
            case .tcp(let host, let port): chiredis_connect_tcp(host, Int32(port), connectMicros, &savedErrno)
            case .unix(let path): chiredis_connect_unix(path, connectMicros, &savedErrno)
            }
        guard let context = maybeContext else {
            throw RedisError(.cannotConnect, "cannot connect to \(address): out of memory")
        }
        if chiredis_err(context) != 0 {
            let text = String(cString: chiredis_errstr(context))
            redisFree(context)
            let timedOut = savedErrno == ETIMEDOUT || savedErrno == EINPROGRESS || text.contains("timed out")
            let hint =
                timedOut
                ? "timed out after \(options.connectTimeout.map { "\($0)" } ?? "the OS limit"); is the host reachable?"
                : "\(text); is redis-server running there?"
            let error = RedisError(.cannotConnect, "cannot connect to \(address): \(hint)", errno: savedErrno)
            closingError = error
            throw error
        }
        // hiredis 0.14 opens its socket without close-on-exec: a child started by other code (a redis-server, say)
        // would inherit it and hold the connection open after close() or a timeout, so the server never sees it end.
        // Spawn's children close every descriptor above stderr anyway; this covers everyone else's.
        _ = fcntl(chiredis_fd(context), F_SETFD, FD_CLOEXEC)
        if let timeout = options.commandTimeout {
            _ = chiredis_set_timeout(context, Self.microseconds(timeout))
        }
        if options.keepAlive, case .tcp = endpoint.address {
            _ = redisEnableKeepAlive(context)
        }
        if let arena { chiredis_use_arena(context, arena) }
        self.context = context
        contextGeneration &+= 1
        closingError = nil
        try handshake()
    }

    /// AUTH, SELECT and CLIENT SETNAME in one round trip.
    private func handshake() throws(RedisError) {
        var commands: [RedisCommand] = []
        if let password = endpoint.password {
            commands.append(
                endpoint.user.map { RedisCommand("AUTH", RedisArgument($0), RedisArgument(password)) }
                    ?? RedisCommand("AUTH", RedisArgument(password)))
        }
        if endpoint.database != 0 { commands.append(RedisCommand("SELECT", RedisArgument(endpoint.database))) }
        if let name = options.clientName { commands.append(RedisCommand("CLIENT", "SETNAME", RedisArgument(name))) }
        guard !commands.isEmpty else { return }
        let address = endpoint.addressDescription
        let replies: [RedisReply]
        do {
            replies = try pipeline(commands)
        } catch {
            dropContext()
            throw RedisError(
                .cannotConnect, "cannot connect to \(address): \(error.message)", errno: error.errno, cause: error.code)
        }
        for (command, reply) in zip(commands, replies) {
            guard case .error(let refusal) = reply else { continue }
            dropContext()
            let advice =
                switch command.name {
                case "AUTH": "check the user and password in the URL (\(RedisEndpoint.percentEncodingAdvice))"
                case "SELECT": "check the database number in the URL (the server has 'databases' of them)"
                default: "check the client name"
                }
            let error = RedisError(
                .cannotConnect, "cannot connect to \(address): \(command.name) refused: \(refusal); \(advice)",
                reply: refusal)
            closingError = error
            throw error
        }
    }

    // MARK: Helpers

    /// Copies a hiredis reply tree into a `RedisReply`. The caller frees the tree.
    static func copy(_ raw: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = raw.pointee
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(reply.str, reply.len))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            let line = String(decoding: UnsafeRawBufferPointer(start: reply.str, count: reply.len), as: UTF8.self)
            return .error(RedisErrorReply(line: line))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                if let element = reply.element[index] { elements.append(copy(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }

    static func microseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000))
    }

    /// hiredis writes with write(2): a peer that closed its end would kill the process with SIGPIPE. Ignore it once,
    /// as C clients of hiredis do, so the failure arrives as EPIPE and becomes `.connectionLost`.
    private static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}

/// A small fast generator (SplitMix64), reproducible from its seed: retry jitter here, order sizes and picks in
/// StockSim's workers. Not for anything that needs unpredictability.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
