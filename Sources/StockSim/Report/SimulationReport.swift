import Foundation

/// Everything one run measured and concluded. Its JSON form (`stocksim run --json`) is a stable interface: fields
/// are added, never renamed or removed, within a `schema_version`.
public struct SimulationReport: Sendable, JSONDocument {
    public struct Stock: Sendable, Codable, Hashable {
        public var initial: Int64
        /// `nil` when the stock key is gone.
        public var final: Int64?
    }

    public struct Percentiles: Sendable, Codable, Hashable {
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var p999: UInt64
        public var max: UInt64
    }

    public struct Spread: Sendable, Codable, Hashable {
        public var min: Int
        public var median: Int
        public var max: Int
    }

    /// A worker that ended without reporting, or with an error.
    public struct WorkerFailure: Sendable, Codable, Hashable {
        public var worker: Int
        public var pid: Int32
        /// `exited with status N` or `killed by signal N (SIGKILL)`.
        public var termination: String
        public var error: String?
    }

    /// One SKU of a catalog run (`--skus`, `--cart-size`).
    public struct SKU: Sendable, Codable, Hashable {
        public var key: String
        public var group: Int
        public var initial: Int64
        public var final: Int64?
        /// Units of this SKU in its group's ledger.
        public var sold: Int64
        public var acknowledged: Int
    }

    public var schemaVersion = 1
    public var runId: String
    /// The server, password masked; `embedded` says whether StockSim started it.
    public var redis: String
    public var embedded: Bool
    public var key: String
    /// The ledger hash of a one-group run; with several groups, every group's ledger key, comma-separated (the
    /// salted keys on a cluster), as in ``ledgerKeys``.
    public var ledgerKey: String
    /// Every group's ledger hash, in group order: the keys as they are in Redis (salted tags on a cluster of several
    /// masters).
    public var ledgerKeys: [String]?
    public var workers: Int
    public var strategy: Strategy
    public var ledger: Bool
    public var quantity: String
    public var ordersLimit: Int?
    public var backoff: String
    /// How `watch` workers waited out the backoff's pauses: `yield` or `sleep`.
    public var backoffWait: String = BackoffWait.sleep.rawValue
    /// Whether `watch` workers sent each order's WATCH and GET behind the last EXEC (`--watch-ahead`).
    public var watchAhead = false
    public var maxAttempts: Int?
    public var seed: UInt64
    /// `seed` as a decimal string: a JSON reader that keeps numbers as doubles (JavaScript, `jq`) rounds a seed
    /// above 2^53, the string it keeps exactly.
    public var seedString: String = ""
    public var stock: Stock
    /// Units sold according to Redis: the ledger, or the stock taken with `--no-ledger`.
    public var sold: Int64
    /// Orders recorded in the ledger (acknowledged orders with `--no-ledger`).
    public var orders: Int
    /// Units the workers were told they sold.
    public var acknowledged: Int
    public var acknowledgedOrders: Int
    public var rejectedOrders: Int
    public var gaveUpOrders: Int
    public var attempts: Int
    public var conflicts: Int
    /// Replies lost after a write was sent (EXEC, EVALSHA, DECRBY), whose outcome had to be found out.
    public var unknownOutcomes: Int = 0
    /// Unknown outcomes that the ledger showed to be commits (they are acknowledged).
    public var recoveredOutcomes: Int = 0
    /// Unknown outcomes nobody can resolve (`decr`, or no ledger).
    public var unresolvedOrders: Int = 0
    public var unresolvedUnits: Int = 0
    /// Times workers connected again after a failure.
    public var reconnects: Int = 0
    /// conflicts / attempts.
    public var conflictRate: Double
    /// From the start barrier to the last worker's end.
    public var elapsedSeconds: Double
    /// Units sold per second, `sold` / `elapsed_seconds` (a sale of 3 units counts 3): the same figure as
    /// `units_per_second`, kept under its schema-1 name.
    public var salesPerSecond: Double
    /// Units sold per second: `sold` / `elapsed_seconds`.
    public var unitsPerSecond: Double = 0
    /// Orders sold per second: `orders` / `elapsed_seconds` (with `--quantity 3`, a third of `units_per_second`).
    public var ordersPerSecond: Double = 0
    /// Per sale: attempts − 1.
    public var retriesPerSale: Percentiles
    /// Per sale, from the first attempt to the commit, in microseconds.
    public var latencyUs: Percentiles
    public var perWorkerSold: Spread
    /// From the first spawn until every worker had connected.
    public var spawnSeconds: Double
    /// The largest peak resident memory of a worker process (kernel accounting).
    public var workerPeakRssBytes: Int
    public var workerFailures: [WorkerFailure]
    /// False when the run could not complete (`incomplete_reason` says why) or was stopped (`interrupted`): never
    /// true together with `interrupted`.
    public var completed: Bool
    public var incompleteReason: String?
    /// True when the run was stopped by SIGINT or SIGTERM; such a run is never `completed`.
    public var interrupted: Bool
    /// Why the sale ended: `sold-out`, `order-limit`, `time-limit`, `demand-unmet`, `stopped` or `failed`.
    public var endReason: EndReason
    /// Faults injected by `--chaos`, in order.
    public var faults: [InjectedFault] = []
    /// Planned faults whose point of progress the sale never reached, and planned kills with no live worker left.
    public var faultsNotInjected: Int = 0
    /// Catalog runs: SKUs, groups, demand skew, SKUs per order, and every SKU's figures (`stock` holds the totals).
    public var skuCount: Int = 1
    public var groups: Int = 1
    public var skew: String = "uniform"
    public var cartSize: Int = 1
    public var skus: [SKU]?
    public var audit: AuditResult
    /// Orders a Redis Cluster turned away before they ran (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) and that were placed
    /// again on the slot's owner; never counted as conflicts. 0 on a single node.
    public var redirects: Int = 0
    /// On a Redis Cluster: each master that owns groups of the run, with its figures; `nil` on a single node.
    public var masters: [Master]?
    /// On a Redis Cluster reached by a `redis://` URL: the note that says it was detected and run as a cluster.
    public var clusterNote: String?
    /// On a Redis Cluster that lost a master: the groups that could not be read back (not audited); `nil` otherwise.
    public var unreachableGroups: [Int]?
    /// A run of several hosts (`--hosts`): one row per host, coordinator first (`Hosts/HostRow.swift`); else `nil`.
    public var hosts: [HostRow]?
    /// The hosts whose heartbeat expired before they reported; `nil` when none was lost.
    public var lostHosts: [String]?
    /// A run of several hosts: what coordinating them cost.
    public var coordination: Coordination?
    /// A run of several hosts: every worker's latency histogram merged, as (microseconds, count) pairs.
    public var latencyCounts: [[UInt64]]?

    /// One master of a Redis Cluster run: its groups and what they sold.
    public struct Master: Sendable, Codable, Hashable {
        /// `host:port`.
        public var address: String
        /// The groups whose hash tags' slots this master served at the start.
        public var groups: [Int]
        /// Units sold from those groups, according to Redis (their ledgers, or the stock taken with `--no-ledger`).
        public var sold: Int64
        /// Redis CPU seconds (`used_cpu_sys` + `used_cpu_user` of `INFO cpu`) this master spent during the sale.
        public var redisCpuSeconds: Double?
    }
    /// Why the history (`--history FILE`) could not be written, when it could not: the run's history is incomplete.
    public var historyError: String?
    /// The sale second by second, closed loop or open: every worker's orders counted in the second (since the run's
    /// start barrier, the `go` every worker shares) in which they ended; a second in which nothing ended has a row of
    /// zeros.
    public var intervals: [Interval]?
    /// An open loop (`--rate`): its schedule, how well the workers kept to it and the corrected latency; `nil` for
    /// the closed loop.
    public var openLoop: OpenLoop?
    /// The latency histograms written by `--hdr-out PREFIX`, in HdrHistogram's percentile text format (`.hgrm`).
    public var hdrFiles: [String]?
    /// Why `--hdr-out` could not write its files, when it could not.
    public var hdrError: String?

    /// One second of the sale.
    public struct Interval: Sendable, Codable, Hashable {
        /// Seconds since the run's start barrier opened (0: the first second).
        public var second: Int
        /// Orders sold in this second, and their units.
        public var orders: Int
        public var units: Int
        public var conflicts: Int
        /// Orders refused as out of stock.
        public var refusals: Int
        /// The latency percentiles of this second's sales, in microseconds: the corrected latency (from the time the
        /// order was due) in an open loop, from the first attempt in a closed one.
        public var p50Us: UInt64
        public var p99Us: UInt64
    }

    /// What an open loop asked for and got.
    public struct OpenLoop: Sendable, Codable, Hashable {
        /// `constant` or `poisson`.
        public var arrival: Arrival.Process
        /// Orders per second the schedule asked for (`--rate`), over all workers.
        public var targetRate: Double
        /// Orders placed per second: `orders_placed` / `elapsed_seconds`.
        public var achievedRate: Double
        /// Orders the workers sent (sold, refused, given up or unresolved).
        public var ordersPlaced: Int
        /// Per sale, from the time it was due to the commit: the latency a buyer on the schedule saw, with the
        /// queueing behind a slow Redis in it.
        public var latencyUsCorrected: Percentiles
        /// Per sale, from the first attempt to the commit (the same figures as `latency_us`): Redis's service time,
        /// blind to the orders that waited to be sent.
        public var latencyUsUncorrected: Percentiles
        /// How far behind its schedule a worker sent an order, at worst, in milliseconds.
        public var maxBehindMs: Double
        /// How far behind its schedule a worker was with its last order (the most behind worker), in milliseconds.
        public var finalBehindMs: Double
    }
}
