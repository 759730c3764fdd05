/// Why a simulation could not run. Its `code` tells the kind apart; the command line maps codes to exit statuses.
public struct SimulationError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. New codes may be added, so switch with a `default`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidConfiguration, redisUnavailable, badServerState, workersFailedToStart, hostsDidNotJoin
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The configuration is wrong (a flag's value).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// Redis could not be reached or refused the login.
        public static let redisUnavailable = Code(.redisUnavailable)
        /// Redis holds something that makes the run impossible (a missing or mistyped stock key).
        public static let badServerState = Code(.badServerState)
        /// The workers could not be started.
        public static let workersFailedToStart = Code(.workersFailedToStart)
        /// A run of several hosts: the roster did not register, or the run did not open or start, in time.
        public static let hostsDidNotJoin = Code(.hostsDidNotJoin)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// One line: what is wrong and what to do.
    public var message: String

    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: what is wrong and what to do, in one line.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
