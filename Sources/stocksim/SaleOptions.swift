import ArgumentParser
import StockSim

/// The options that shape every sale, shared by `run` and `sweep` (pulled into each with `@OptionGroup`).
struct SaleOptions: ParsableArguments {
    @Option(name: .long, help: "The stock key.")
    var key = "stock:count"

    @Flag(
        name: .long,
        help: "Do not record sales in the ledger (raw speed); the audit then checks acknowledged sales only.")
    var noLedger = false

    @Option(name: .long, help: "Units per order: N, or a range such as 1-3 (no partial fills).")
    var quantity = "1"

    @Option(
        name: .long, parsing: .unconditional, help: "watch: attempts per order before giving it up (default: no limit)."
    )
    var maxAttempts: Int?

    @Option(
        name: .long,
        help:
            "watch: backoff after a conflict: tracking (a jittered pause from one round trip, doubling per conflict in a row; above a 50% conflict rate a window up to 100 ms), adaptive (1-200 ms), exponential, none, tracking:PERCENT,CAP_US or NAME:BASE_US,CAP_US."
    )
    var backoff = "tracking"

    @Option(
        name: .long,
        help:
            "watch: how a worker waits out a backoff's pause: sleep (nanosleep: the CPU may idle) or yield (gives the CPU to anything runnable until the pause ends, never leaving it idle: faster where idle CPUs halt, but one worker then takes most of the sales)."
    )
    var backoffWait = BackoffWait.sleep.rawValue

    @Flag(
        name: .long, inversion: .prefixedNo,
        help:
            "watch, one stock key: send each order's WATCH and GET behind the last order's EXEC (one round trip a sale instead of two; the worker that sold last then has its WATCH in first, and sells most). Default: on for a closed-loop run of one worker on one host, which races nobody of its own; off otherwise."
    )
    var watchAhead: Bool?

    @Option(name: .long, parsing: .unconditional, help: "Milliseconds allowed to connect to Redis.")
    var connectTimeout = 2_000

    @Option(name: .long, parsing: .unconditional, help: "Milliseconds allowed for each reply in the workers.")
    var commandTimeout = 10_000

    @Option(
        name: .long, parsing: .unconditional,
        help: "Milliseconds a worker keeps reconnecting (jittered backoff) before it gives up.")
    var reconnectTimeout = 10_000

    @Option(name: .long, parsing: .unconditional, help: "Stock keys (SKUs), each with --stock units: {KEY:gG}:sku:I.")
    var skus = 1

    @Option(
        name: .long, parsing: .unconditional,
        help: "Groups the SKUs are dealt into; a group's keys share a Redis Cluster hash tag.")
    var groups = 1

    @Option(name: .long, help: "How demand spreads over a group's SKUs: uniform or zipf:S (hot items).")
    var skew = "uniform"

    @Option(name: .long, parsing: .unconditional, help: "Distinct SKUs per order, from one group, taken all or none.")
    var cartSize = 1

    @Option(
        name: .long,
        help: "A time bound for each run: 30s, 1500ms, 2m; the workers are stopped then and the run is audited.")
    var duration: String?

    @Option(
        name: .long,
        help: "Seed for random order sizes and chaos, the same for every run of a sweep (default: a random seed).")
    var seed: UInt64?

    /// The configuration these options describe, with what the command sets itself.
    ///
    /// - Throws: `ConfigurationError` naming a value that cannot be parsed.
    func configuration(
        initialStock: Int?, orders: Int? = nil, strategy: Strategy = .watch,
        workers: Int = SimulationConfiguration.defaultWorkers, chaos: ChaosPlan = ChaosPlan()
    ) throws -> SimulationConfiguration {
        guard let wait = BackoffWait(rawValue: backoffWait) else {
            throw ConfigurationError("--backoff-wait takes yield or sleep, not '\(backoffWait)'")
        }
        var configuration = SimulationConfiguration(
            key: key, initialStock: initialStock, recordsLedger: !noLedger, orders: orders,
            quantity: try Quantity(parsing: quantity), strategy: strategy, workers: workers, maxAttempts: maxAttempts,
            backoff: try BackoffSetting(parsing: backoff), connectTimeoutMilliseconds: connectTimeout,
            commandTimeoutMilliseconds: commandTimeout, reconnectTimeoutMilliseconds: reconnectTimeout,
            seed: seed ?? UInt64.random(in: 0...UInt64.max),
            chaos: chaos, skus: skus, groups: groups, skew: try Skew(parsing: skew), cartSize: cartSize,
            durationMilliseconds: try duration.map { try DurationText.milliseconds(parsing: $0) })
        configuration.backoffWait = wait
        // Like --backoff, a watch option: the other strategies send no WATCH (a sweep may run several strategies).
        configuration.watchesAhead = watchAhead == true && strategy == .watch
        // Neither --watch-ahead nor --no-watch-ahead: a run that races nobody of its own watches ahead.
        configuration.watchesAheadAlone = watchAhead == nil
        return configuration
    }
}
