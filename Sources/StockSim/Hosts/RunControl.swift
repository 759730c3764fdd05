import Foundation

/// The keys of runs of several hosts, apart from the stock's keys: all under one hash tag of their own,
/// `{stocksim:run}`, so that on a Redis Cluster every one of them, the pointer to the open run included, lives in one
/// slot, and each host talks to that slot's master over one connection. None holds credentials: every host reaches
/// Redis by its own URL.
///
/// - `{stocksim:run}:RUN:control` (hash): `schema`, `run` (the `RunControl`), `start` (the `StartSignal`, set once),
///   `stop` (set when the coordinator was stopped), `refused:HOST` (why a registration was refused).
/// - `{stocksim:run}:RUN:hosts` (hash): host name → its `HostRegistration`.
/// - `{stocksim:run}:RUN:stream` (stream, `MAXLEN ~ 2000`): `HostMessage`s, one field `message`, one `host`.
/// - `{stocksim:run}:RUN:alive:HOST`: the host's heartbeat, a key with a short time to live.
///
/// `{stocksim:run}:open` names the run a coordinator has open for registrations, for `stocksim join` without `--run`.
struct RunControlKeys: Sendable, Hashable {
    let runID: String

    /// The hash tag of every control key.
    static let tag = "{stocksim:run}"
    var prefix: String { Self.tag + ":" + runID }
    var control: String { prefix + ":control" }
    var hosts: String { prefix + ":hosts" }
    var stream: String { prefix + ":stream" }
    func alive(_ host: String) -> String { prefix + ":alive:" + host }

    static let open = tag + ":open"
    /// Control keys outlive a run by this much, for a late reader (and a coordinator that died mid-run).
    static let retentionSeconds = 600
    /// While a run is open or running its keys expire this long after they were written, should every host die.
    static let runningRetentionSeconds = 86_400
}

/// What the coordinator publishes in `control.run`: the run's configuration, as each host's workers need it.
struct RunControl: Codable, Sendable, Equatable {
    /// The layout of these keys and messages. A host that speaks another is refused, on either side.
    static let schemaVersion = 4

    var coordinator: String
    var roster: HostRoster
    var configuration: SimulationConfiguration
    /// What the coordinator prepared (the run's id, its stock, the script's SHA): every host's workers sell with it.
    var prepared: Preparation

    /// The keys of the run this control opened.
    var keys: RunControlKeys { RunControlKeys(runID: prepared.runID) }
}

/// A host's registration: it has spawned its workers and is ready to sell.
struct HostRegistration: Codable, Sendable, Equatable {
    var name: String
    var workers: Int
    /// The control schema it speaks, and its stocksim version for the message that refuses another schema: this
    /// stocksim's own, unless it was decoded from another host's registration.
    var schema = RunControl.schemaVersion
    var version = HostSession.version
    /// When it registered, in Redis's clock (microseconds), by its measured offset.
    var registeredAtMicroseconds: Int64
}

/// The barrier's release: set once by the coordinator when every host has registered.
struct StartSignal: Codable, Sendable, Equatable {
    /// The start instant in Redis's clock (`TIME`), microseconds since the epoch.
    var atMicroseconds: Int64
    /// The hosts, coordinator first, then in order of registration.
    var hosts: [String]
    /// `--chaos kill-host:N`: the hosts that kill themselves, and after how many units of their own.
    var victims: [String] = []
    var killAtUnits: Int = 0
}

extension JSONEncoder {
    /// The one encoding of control values and host messages: compact, keys sorted.
    static var hostMessages: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
