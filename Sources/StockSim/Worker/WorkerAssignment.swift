import Hiredis

/// What the driver tells one worker, in its first message.
struct WorkerAssignment: Codable, Sendable, Equatable {
    var index: Int
    var runID: String
    /// The server's URL (with credentials: it travels on a pipe, never on a command line).
    var redisURL: String
    var configuration: SimulationConfiguration
    /// Orders this worker places, or `nil` to buy until the stock runs out.
    var orderQuota: Int?
    /// The stock script's SHA1 for `lua`, as the driver's SCRIPT LOAD returned it.
    var scriptSHA: String
    /// Name the connection with CLIENT SETNAME (false when the ACL user may not).
    var namedConnection: Bool
    /// The host's name in a run of several hosts (`--host-name`); `nil` for a run of one host.
    var host: String? = nil

    /// The generator of this worker's order sizes and picks: reproducible from the run's seed, different per worker.
    var random: SplitMix64 {
        SplitMix64(seed: configuration.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The start of this worker's order ids, `RUN:WORKER:` (`RUN:HOST:WORKER:` in a run of several hosts, so that the
    /// ledger's duplicate check spans hosts); the sequence number follows.
    var orderPrefix: String { host.map { "\(runID):\($0):\(index):" } ?? "\(runID):\(index):" }
}
