/// This host's part in a run of several hosts: `stocksim run --hosts N --host-name NAME` is the coordinator,
/// `stocksim join --host-name NAME` every other host. A local run is a run of one host without a plan.
public struct HostPlan: Sendable {
    public enum Role: Sendable, Hashable {
        /// Prepares the stock, waits for the roster to register, sets the start instant, audits and reports.
        case coordinator(HostRoster)
        /// Takes the run's configuration from Redis: the run named, or `nil` for the one that is open.
        case joiner(run: String?)
    }

    public var role: Role
    /// This host's name: in its registration, its order ids (`RUN:HOST:WORKER:SEQ`) and its report's row.
    public var name: String
    /// Time allowed for the roster to register (coordinator) or for the run to open and start (joiner).
    public var joinTimeoutMilliseconds: Int
    /// How far after the last registration the coordinator sets the start instant, in Redis's clock: long enough
    /// for every host to read it (they poll every 20 ms) and sleep until it.
    public var startMarginMilliseconds: Int
    /// A host whose heartbeat key has not been refreshed for this long is declared lost.
    public var heartbeatMilliseconds: Int
    /// Called once with the run's id when the coordinator opened it (the CLI prints how to join).
    public var announce: @Sendable (String) -> Void

    /// The join timeout when none is given: 30 s.
    public static let defaultJoinTimeoutMilliseconds = 30_000

    /// - Parameters:
    ///   - role: coordinator with its roster, or joiner.
    ///   - name: this host's name (letters, digits, `.`, `_`, `-`; up to 32).
    ///   - joinTimeoutMilliseconds: time allowed to gather the hosts.
    ///   - startMarginMilliseconds: the start instant's margin after the last registration.
    ///   - heartbeatMilliseconds: the heartbeat key's time to live.
    ///   - announce: told the run's id once it is open.
    public init(
        role: Role, name: String, joinTimeoutMilliseconds: Int = defaultJoinTimeoutMilliseconds,
        startMarginMilliseconds: Int = 500,
        heartbeatMilliseconds: Int = 3_000, announce: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.role = role
        self.name = name
        self.joinTimeoutMilliseconds = joinTimeoutMilliseconds
        self.startMarginMilliseconds = startMarginMilliseconds
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.announce = announce
    }

    /// Checks the name and the timeouts, and what a run of several hosts cannot do yet.
    ///
    /// - Throws: `ConfigurationError` saying what to change.
    public func validate(_ configuration: SimulationConfiguration) throws(ConfigurationError) {
        try Self.validate(name: name)
        guard joinTimeoutMilliseconds > 0 else { throw ConfigurationError("--join-timeout must be positive") }
        guard startMarginMilliseconds >= 0, heartbeatMilliseconds >= 200 else {
            throw ConfigurationError("the start margin must be 0 or more and the heartbeat at least 200ms")
        }
        if case .coordinator(let roster) = role {
            if !roster.names.isEmpty, !roster.names.contains(name) {
                throw ConfigurationError(
                    "--hosts names \(roster.names.joined(separator: ",")) but this host is '\(name)'; list the coordinator's --host-name too"
                )
            }
            if configuration.chaos.killHost > 0, configuration.chaos.killHost >= roster.count {
                throw ConfigurationError(
                    "--chaos kill-host:\(configuration.chaos.killHost) needs more hosts than that (the coordinator survives to audit); raise --hosts"
                )
            }
        }
        if configuration.orders != nil {
            throw ConfigurationError(
                "--orders splits orders over one host's workers; with --hosts give --stock (and --duration) instead")
        }
    }

    /// A host name: letters, digits, `.`, `_` and `-`, 1 to 32 of them (it is part of order ids and key names).
    ///
    /// - Throws: `ConfigurationError` naming the name.
    public static func validate(name: String) throws(ConfigurationError) {
        let allowed = name.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E
                || $0 == 0x5F || $0 == 0x2D
        }
        guard (1...32).contains(name.utf8.count), allowed else {
            throw ConfigurationError(
                "host name '\(name)' should be 1 to 32 letters, digits, '.', '_' or '-' (it becomes part of order ids)")
        }
    }

    /// `--chaos kill-host:N` without `--hosts` has no host to kill.
    ///
    /// - Throws: `ConfigurationError`.
    /// Why a run of several hosts takes no `--rate` (yet): the schedule is split over one host's workers.

    static func check(_ plan: HostPlan?, _ configuration: SimulationConfiguration) throws(ConfigurationError) {
        if let plan { return try plan.validate(configuration) }
        if configuration.chaos.killHost > 0 {
            throw ConfigurationError("--chaos kill-host needs a run of several hosts: add --hosts N")
        }
    }
}

/// The hosts a coordinator waits for: a count, or their names (then the join timeout's error names the missing).
public struct HostRoster: Sendable, Hashable, Codable, CustomStringConvertible {
    public var count: Int
    /// Empty when any names may register.
    public var names: [String]

    public init(count: Int, names: [String] = []) {
        self.count = count
        self.names = names
    }

    /// `3`, or `east,west,north`.
    ///
    /// - Throws: `ConfigurationError` saying what is wrong.
    public init(parsing text: String) throws(ConfigurationError) {
        if let count = Int(text) {
            guard (1...64).contains(count) else {
                throw ConfigurationError("--hosts must be from 1 to 64 hosts, not \(count)")
            }
            self.init(count: count)
            return
        }
        let names = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        for name in names { try HostPlan.validate(name: name) }
        guard Set(names).count == names.count else {
            throw ConfigurationError("--hosts \(text) names a host twice; give each host its own name")
        }
        guard names.count <= 64 else { throw ConfigurationError("--hosts allows up to 64 hosts, not \(names.count)") }
        self.init(count: names.count, names: names)
    }

    public var description: String { names.isEmpty ? NumberText.count(count, "host") : names.joined(separator: ",") }
}
