/// The one error type of the Hiredis module.
///
/// Its `code` tells the kind of failure apart; `message` says what happened and what to do; a Redis error reply keeps
/// Redis's own code (`WRONGTYPE`, `EXECABORT`, ...) in `reply`.
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added, so switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidEndpoint, cannotConnect, timeout, connectionLost, protocolError, serverError, misuse
            case outcomeUnknown
            case tooManyRedirects
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The endpoint URL could not be parsed, or names something unsupported.
        public static let invalidEndpoint = Code(.invalidEndpoint)
        /// The connection could not be established (refused, no such host, connect timeout, AUTH or SELECT failed).
        public static let cannotConnect = Code(.cannotConnect)
        /// A command got no reply within the command timeout. The connection is closed after it.
        public static let timeout = Code(.timeout)
        /// The connection broke (reset, closed by the server, I/O error). The connection is closed after it.
        public static let connectionLost = Code(.connectionLost)
        /// The server sent something that is not RESP. The connection is closed after it.
        public static let protocolError = Code(.protocolError)
        /// The server answered with an error reply; see `RedisError.reply`. The connection stays usable.
        public static let serverError = Code(.serverError)
        /// The API was used in a way it does not support (a closed connection, an empty command, ...).
        public static let misuse = Code(.misuse)
        /// The connection failed after EXEC (or another non-idempotent command) was sent and before its reply
        /// arrived: the command may or may not have taken effect. Never retried automatically.
        public static let outcomeUnknown = Code(.outcomeUnknown)
        /// A Redis Cluster command was redirected (`MOVED`, `ASK`) more times than the client allows: the cluster's
        /// slot map keeps changing, or its nodes disagree about it.
        public static let tooManyRedirects = Code(.tooManyRedirects)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// What happened and what to do, in one line.
    public var message: String
    /// The server's error reply, for `.serverError` (and for `.cannotConnect` when AUTH or SELECT was refused).
    public var reply: RedisErrorReply?
    /// The operating-system error number behind an I/O failure, when there was one.
    public var errno: Int32?
    /// For `.outcomeUnknown`: the code of the failure that made the outcome unknown (`.timeout` or
    /// `.connectionLost`).
    public var cause: Code?

    public init(
        _ code: Code, _ message: String, reply: RedisErrorReply? = nil, errno: Int32? = nil, cause: Code? = nil
    ) {
        self.code = code
        self.message = message
        self.reply = reply
        self.errno = errno
        self.cause = cause
    }

    /// An error for a server error reply.
    public static func server(_ reply: RedisErrorReply, command: String) -> RedisError {
        RedisError(.serverError, "Redis refused \(command): \(reply)", reply: reply)
    }

    /// True when the connection can no longer be used after this error (I/O, timeout, protocol, unknown outcome).
    public var closesConnection: Bool {
        code == .timeout || code == .connectionLost || code == .protocolError || code == .outcomeUnknown
    }

    public var description: String { message }
}
