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
    public var ledgerKey: String
    public var workers: Int
    public var strategy: Strategy
    public var ledger: Bool
    public var quantity: String
    public var ordersLimit: Int?
    public var backoff: String
    public var maxAttempts: Int?
    public var seed: UInt64
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
    /// `sold` / `elapsed_seconds`.
    public var salesPerSecond: Double
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
    /// False when the run could not complete; `incomplete_reason` says why.
    public var completed: Bool
    public var incompleteReason: String?
    /// True when the run was stopped by SIGINT or SIGTERM.
    public var interrupted: Bool
    /// Faults injected by `--chaos`, in order.
    public var faults: [InjectedFault] = []
    /// Planned faults whose point of progress the sale never reached.
    public var faultsNotInjected: Int = 0
    /// Catalog runs: SKUs, groups, demand skew, SKUs per order, and every SKU's figures (`stock` holds the totals).
    public var skuCount: Int = 1
    public var groups: Int = 1
    public var skew: String = "uniform"
    public var cartSize: Int = 1
    public var skus: [SKU]?
    public var audit: AuditResult
    /// Why the history (`--history FILE`) could not be written, when it could not: the run's history is incomplete.
    public var historyError: String?
}
