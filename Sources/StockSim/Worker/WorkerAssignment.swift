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
    /// The run's temp directory: where the worker writes its `SaleRecord`s (`w<INDEX>.records`) and a user
    /// program's stderr.
    var recordDirectory: String? = nil
    /// Whether the worker records its sales (the witness's or the history's records); false with `--no-witness`.
    var recordsSales = true
    /// Flush the records before every order (workers may be killed), so a dead worker's file is still complete.
    var flushEachOrder = false
    /// Record every event with its time, for `--history`.
    var recordsHistory = false

    /// This worker's record file.
    var recordPath: String? { recordsSales ? recordDirectory.map { "\($0)/w\(index).records" } : nil }

    /// How often this worker sends its progress: ten times a second up to 8 workers, then more seldom, so that the
    /// driver hears about 80 lines a second however many workers run: each line wakes the driver and is decoded there,
    /// and at 64 workers ten a second each (640 wake-ups) took CPU from the workers and Redis on 2 cores.
    var progressInterval: Duration { .milliseconds(100) * max(1, configuration.workers / 8) }

    /// The generator of this worker's order sizes and picks: reproducible from the run's seed, different per worker.
    var random: SplitMix64 {
        SplitMix64(seed: configuration.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// The start of this worker's order ids, `RUN:WORKER:` (`RUN:HOST:WORKER:` in a run of several hosts, so that the
    /// ledger's duplicate check spans hosts); the sequence number follows.
    var orderPrefix: String { host.map { "\(runID):\($0):\(index):" } ?? "\(runID):\(index):" }
}
