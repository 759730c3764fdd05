import Foundation
import Hiredis

/// Everything that defines one simulation.
public struct SimulationConfiguration: Sendable, Hashable, Codable {
    /// The stock key (`stock:count`, the original snippet's key, by default).
    public var key: String
    /// The initial stock to SET, or `nil` to take the key's current value (`--keep-stock`).
    public var initialStock: Int?
    /// Record every sale in the ledger, atomically with its decrement where the strategy allows.
    public var recordsLedger: Bool
    /// Orders in total across all workers, or `nil` to buy until the stock runs out.
    public var orders: Int?
    public var quantity: Quantity
    public var strategy: Strategy
    /// Worker OS processes, each with its own connection.
    public var workers: Int
    /// Attempts per order for `watch` (`nil`: no limit).
    public var maxAttempts: Int?
    public var backoff: BackoffSetting
    /// How a `watch` worker waits out the backoff's pauses (`--backoff-wait`): asleep by default; `.yield` keeps the
    /// CPU from idling, faster on a machine whose idle CPUs halt, but one worker then takes most of the sales.
    public var backoffWait: BackoffWait = .sleep
    /// `watch`, one stock key, a closed loop (`--watch-ahead`): each order's WATCH and GET go behind the last order's
    /// EXEC, one round trip per attempt instead of two (``OptimisticTransaction/watchesAhead``). Off by default: a
    /// worker that commits has its next WATCH in place before anyone else can answer, so with several workers the one
    /// that sold last sells again, and the others wait. An open loop never does: its next order waits for its due
    /// time, and the read sent ahead would be that old.
    public var watchesAhead = false
    /// Watch ahead when the run has no rival of its own to take the sales from (``racesNobody``), though
    /// ``watchesAhead`` is off: what `stocksim run` and `sweep` do unless told `--no-watch-ahead` (and never with
    /// `--hosts`, whose workers on other hosts are rivals). Off for a configuration built in Swift.
    public var watchesAheadAlone = false
    /// Time allowed to connect; also bounds an unreachable server's answer.
    public var connectTimeoutMilliseconds: Int
    /// Time allowed per reply in the workers.
    public var commandTimeoutMilliseconds: Int
    /// Time a worker keeps trying to get through to Redis (reconnecting with jittered backoff) before it gives up.
    public var reconnectTimeoutMilliseconds: Int
    /// Seed for the workers' random quantities (each worker derives its own stream from it) and for chaos.
    public var seed: UInt64
    /// Faults to inject while the workers sell.
    public var chaos: ChaosPlan
    /// Stock keys (SKUs), each with `initialStock` units; more than one makes a catalog run.
    public var skus: Int
    /// Groups the SKUs are dealt into; each group's keys share a Redis Cluster hash tag.
    public var groups: Int
    /// How demand spreads over a group's SKUs.
    public var skew: Skew
    /// Distinct SKUs per order, all from one group, taken atomically (all or none).
    public var cartSize: Int
    /// `--duration`: the driver stops the workers this long after the start barrier (`nil`: no time limit).
    public var durationMilliseconds: Int?
    /// Per group, the salt of its hash tag, which the driver chooses on a cluster of several masters (see
    /// `ClusterTopology`); `nil` elsewhere.
    var groupSalts: [String]?
    /// `--strategy script`: the user's Lua script (`--script FILE.lua`), contract v1.
    public var script: UserScript? = nil
    /// `--strategy command`: the user's program (`--worker-command 'CMD ARGS…'`, run by `/bin/sh -c`), protocol v1.
    public var workerCommand: String? = nil
    /// The per-sale witness: workers record each sale's stock left and the driver checks the chains (`--no-witness`
    /// turns it off, to measure what it costs; a run with `--history` records anyway, and is checked).
    public var checksWitness = true
    /// An open loop (`--rate R --arrival constant|poisson`): orders are due on a schedule; `nil`: the closed loop,
    /// where each worker places its next order when the last one ended.
    public var arrival: Arrival? = nil

    public init(
        key: String = "stock:count", initialStock: Int? = 10_000, recordsLedger: Bool = true, orders: Int? = nil,
        quantity: Quantity = .one, strategy: Strategy = .watch, workers: Int = SimulationConfiguration.defaultWorkers,
        maxAttempts: Int? = nil, backoff: BackoffSetting = .standard, connectTimeoutMilliseconds: Int = 2_000,
        commandTimeoutMilliseconds: Int = 10_000, reconnectTimeoutMilliseconds: Int = 10_000,
        seed: UInt64 = UInt64.random(in: 0...UInt64.max), chaos: ChaosPlan = ChaosPlan(), skus: Int = 1,
        groups: Int = 1, skew: Skew = .uniform, cartSize: Int = 1, durationMilliseconds: Int? = nil
    ) {
        self.key = key
        self.initialStock = initialStock
        self.recordsLedger = recordsLedger
        self.orders = orders
        self.quantity = quantity
        self.strategy = strategy
        self.workers = workers
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.commandTimeoutMilliseconds = commandTimeoutMilliseconds
        self.reconnectTimeoutMilliseconds = reconnectTimeoutMilliseconds
        self.seed = seed
        self.chaos = chaos
        self.skus = skus
        self.groups = groups
        self.skew = skew
        self.cartSize = cartSize
        self.durationMilliseconds = durationMilliseconds
    }

    /// True for a run over several SKUs or with carts; false for the classic single stock key.
    /// The units of every SKU together (`initialStock` × `skus`); `nil` with `--keep-stock`.
    public var totalStock: Int? { initialStock.map { $0 * skus } }
    public var isCatalog: Bool { skus > 1 || groups > 1 || cartSize > 1 }

    var layout: CatalogLayout { CatalogLayout(key: key, skus: skus, groups: groups, salts: groupSalts ?? []) }

    /// The number of CPU cores, as `ProcessPoolExecutor` sizes its pool.
    public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Checks the numbers before anything touches Redis.
    ///
    /// - Throws: `ConfigurationError` with a message that says what to change.
    public func validate() throws(ConfigurationError) {
        if let initialStock, initialStock < 0 {
            throw ConfigurationError("stock must be 0 or more, not \(initialStock)")
        }
        guard workers >= 1 else { throw ConfigurationError("workers must be at least 1, not \(workers)") }
        guard workers <= 1024 else { throw ConfigurationError("workers must be at most 1024, not \(workers)") }
        if let orders, orders < 1 { throw ConfigurationError("orders must be at least 1, not \(orders)") }
        if let durationMilliseconds, durationMilliseconds < 1 {
            throw ConfigurationError("duration must be at least 1ms, not \(durationMilliseconds)ms")
        }
        if let maxAttempts, maxAttempts < 1 {
            throw ConfigurationError("max attempts must be at least 1, not \(maxAttempts)")
        }
        guard !key.isEmpty else { throw ConfigurationError("the stock key must not be empty") }
        guard skus >= 1 else { throw ConfigurationError("skus must be at least 1, not \(skus)") }
        guard groups >= 1, groups <= skus else {
            throw ConfigurationError("groups must be from 1 to the number of SKUs (\(skus)), not \(groups)")
        }
        guard cartSize >= 1 else { throw ConfigurationError("cart size must be at least 1, not \(cartSize)") }
        guard cartSize <= skus / groups else {
            throw ConfigurationError(
                cartSize > skus
                    ? "cart size \(cartSize) is larger than --skus \(skus); a cart takes distinct SKUs, so raise --skus or lower --cart-size"
                    : "cart size \(cartSize) is larger than the \(NumberText.count(skus / groups, "SKU")) of a group; a cart draws from one group, so lower --groups or --cart-size"
            )
        }
        if watchesAhead {
            if skus > 1 {
                throw ConfigurationError(
                    "--watch-ahead needs one stock key: with --skus the next order's SKU is drawn, so the WATCH sent ahead would mostly be for another; drop --skus or --watch-ahead"
                )
            }
            if arrival != nil {
                throw ConfigurationError(
                    "--watch-ahead is for a closed loop: with --rate each order waits for its due time and the read sent ahead would be that old; drop --rate or --watch-ahead"
                )
            }
        }
        if isCatalog, initialStock == nil {
            throw ConfigurationError(
                "--keep-stock works with a single stock key; drop --skus, --groups and --cart-size or pass --stock N")
        }
        if strategy == .script, script == nil {
            throw ConfigurationError(
                "--strategy script needs --script FILE.lua (contract v1: README, \"Your own Lua script\")")
        }
        if strategy == .command, (workerCommand ?? "").isEmpty {
            throw ConfigurationError(
                "--strategy command needs --worker-command 'CMD ARGS…' (protocol v1: README, \"Your own client\")")
        }
        if strategy != .command, workerCommand != nil {
            throw ConfigurationError(
                "--worker-command is the program of --strategy command; add --strategy command or drop it")
        }
        if strategy != .script, script != nil {
            throw ConfigurationError(
                "--script FILE.lua is the script of --strategy script; add --strategy script or drop --script")
        }
        if arrival != nil, orders == nil, durationMilliseconds == nil {
            throw ConfigurationError(
                "--rate needs a bound: add --duration (such as 10s) or --orders N, so that the schedule ends")
        }
        guard connectTimeoutMilliseconds > 0, commandTimeoutMilliseconds > 0, reconnectTimeoutMilliseconds >= 0 else {
            throw ConfigurationError("timeouts must be positive")
        }
    }

    var connectionOptions: RedisConnection.Options {
        RedisConnection.Options(
            connectTimeout: .milliseconds(connectTimeoutMilliseconds),
            commandTimeout: .milliseconds(commandTimeoutMilliseconds))
    }

    var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, backoff: backoff.policyBackoff, wait: backoffWait.policyWait)
    }
}

extension SimulationConfiguration {
    /// A `watch` run of one worker on one stock key in a closed loop: no worker of its own races it, so watching ahead
    /// takes the sales from nobody (with two or more, the worker that sold last would sell most).
    public var racesNobody: Bool { strategy == .watch && workers == 1 && skus == 1 && arrival == nil }

    /// Whether the workers send each order's WATCH and GET behind the last EXEC: asked for (``watchesAhead``, a
    /// `watch` run), or ``watchesAheadAlone`` and the run ``racesNobody``.
    public var watchesAheadInEffect: Bool { strategy == .watch && (watchesAhead || (watchesAheadAlone && racesNobody)) }
}
