import Foundation
import Hiredis
import Logging

/// What a sweep runs: every strategy at every worker count, `repeats` times, each run on freshly set stock.
public struct SweepConfiguration: Sendable, Hashable {
    /// Worker counts, ascending, each once.
    public var workerCounts: [Int]
    /// Strategies, in the order given.
    public var strategies: [Strategy]
    /// Runs per point (a strategy at a worker count); the figures are medians over them.
    public var repeats: Int
    /// Everything else about a run: key, stock, ledger, quantity, retries, timeouts, seed. Its `strategy` and
    /// `workers` are replaced point by point.
    public var base: SimulationConfiguration
    /// Master counts to compare (`--cluster-masters 1,2,3`): every point runs on an embedded cluster of each count,
    /// one cluster per count, started before its runs and stopped after them. Empty: every run on the sweep's one
    /// target.
    public var clusterMasters: [Int] = []
    /// Open-loop rates to compare (`--rate 500,1000,2000`, orders per second, ascending): every strategy and worker
    /// count runs at each, its orders spaced by `arrival`, each run bounded by the base's duration. Empty: every run a
    /// closed loop.
    public var rates: [Double] = []
    /// How each worker's orders are spaced at those rates (`--arrival`).
    public var arrival: Arrival.Process = .constant
    /// `--p99-target MS`, in microseconds: the sweep names, per strategy and worker count, the highest of `rates`
    /// whose corrected p99 meets it.
    public var p99TargetMicroseconds: Double?

    public init(
        workerCounts: [Int], strategies: [Strategy], repeats: Int = 3,
        base: SimulationConfiguration = SimulationConfiguration(initialStock: 20_000)
    ) {
        self.workerCounts = workerCounts
        self.strategies = strategies
        self.repeats = repeats
        self.base = base
    }

    /// The configuration of one run: an open loop at `rate`, or the closed loop without one.
    public func configuration(strategy: Strategy, workers: Int, rate: Double? = nil) -> SimulationConfiguration {
        var configuration = base
        configuration.strategy = strategy
        configuration.workers = workers
        // Like --backoff, for the watch runs only (and watching ahead alone only where a run of one worker races
        // nobody: ``SimulationConfiguration/watchesAheadInEffect`` decides per run).
        configuration.watchesAhead = base.watchesAhead && strategy == .watch
        configuration.arrival = rate.map { Arrival(rate: $0, process: arrival) }
        return configuration
    }

    /// Checks the numbers before anything touches Redis.
    ///
    /// - Throws: `ConfigurationError` with a message that says what to change.
    public func validate() throws(ConfigurationError) {
        guard !workerCounts.isEmpty else {
            throw ConfigurationError("give at least one worker count, such as --workers 1,2,4 or 1-64x2")
        }
        for count in workerCounts { try Self.check(workerCount: count) }
        guard !strategies.isEmpty else {
            throw ConfigurationError("give at least one strategy, such as --strategy watch,lua")
        }
        guard repeats >= 1 else {
            throw ConfigurationError(
                "repeat must be at least 1, not \(repeats); --repeat 3 gives a median over three runs")
        }
        guard base.initialStock != nil else {
            throw ConfigurationError("a sweep sets the stock before every run; give the initial stock (--stock N)")
        }
        for masters in clusterMasters where !(1...16).contains(masters) {
            throw ConfigurationError("--cluster-masters counts must be from 1 to 16, not \(masters)")
        }
        if !rates.isEmpty, base.durationMilliseconds == nil, base.orders == nil {
            throw ConfigurationError(
                "--rate needs a bound for each run: add --duration (such as 2s), so that every rate's schedule ends")
        }
        for rate in rates where !(rate.isFinite && rate > 0) {
            throw ConfigurationError("rates must be positive numbers of orders per second, not \(rate)")
        }
        if p99TargetMicroseconds != nil, rates.isEmpty {
            throw ConfigurationError(
                "--p99-target picks the highest rate that meets it; add --rate LIST, such as --rate 500,1000,2000")
        }
        if let p99TargetMicroseconds, !(p99TargetMicroseconds.isFinite && p99TargetMicroseconds > 0) {
            throw ConfigurationError("--p99-target must be a positive number of milliseconds, such as 5 or 0.5")
        }
        try configuration(strategy: strategies[0], workers: workerCounts[0], rate: rates.first).validate()
        // --watch-ahead applies to the watch runs: check one of them, whichever strategy comes first.
        if base.watchesAhead, strategies.contains(.watch) {
            try configuration(strategy: .watch, workers: workerCounts[0], rate: rates.first).validate()
        }
    }

    /// Parses `--rate` for a sweep: a rate (`500`) or a list (`500,1000,2000`), orders per second, each positive.
    ///
    /// - Returns: the rates, ascending, each once.
    /// - Throws: `ConfigurationError` naming the item that is not a positive number.
    public static func rates(parsing text: String) throws(ConfigurationError) -> [Double] {
        var rates = Set<Double>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let rate = Double(item.trimmingCharacters(in: .whitespaces)), rate.isFinite, rate > 0 else {
                throw ConfigurationError(
                    "--rate '\(text)': '\(item)' is not a positive number of orders per second; write 500, or a list such as 500,1000,2000"
                )
            }
            guard rates.count < 64 else {
                throw ConfigurationError(
                    "--rate '\(text)' has more than 64 rates; a sweep compares a few, such as 500,1000,2000")
            }
            rates.insert(rate)
        }
        return rates.sorted()
    }

    /// Parses master counts: a count (`3`) or a list (`1,2,3`), ascending and each once in the result.
    ///
    /// - Throws: `ConfigurationError` naming the item that is not a count from 1 to 16.
    public static func masterCounts(parsing text: String) throws(ConfigurationError) -> [Int] {
        var counts = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let count = Int(item.trimmingCharacters(in: .whitespaces)), (1...16).contains(count) else {
                throw ConfigurationError(
                    "--cluster-masters '\(text)': '\(item)' is not a master count from 1 to 16; write 3, or a list such as 1,2,3"
                )
            }
            counts.insert(count)
        }
        return counts.sorted()
    }

    /// Parses worker counts: a count (`8`), a list (`1,2,4`), a range (`1-4`: 1, 2, 3, 4) or a geometric range
    /// (`1-64x2`: 1, 2, 4, … 64, each step times 2, stopping at the last value not above the end), or a list of
    /// these (`1,2,8-32x2`).
    ///
    /// - Returns: the counts, ascending, each once.
    /// - Throws: `ConfigurationError` naming the item that is wrong and the forms accepted.
    public static func workerCounts(parsing text: String) throws(ConfigurationError) -> [Int] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard items.contains(where: { !$0.isEmpty }) else {
            throw ConfigurationError("no worker counts given; \(workerForms)")
        }
        var counts = Set<Int>()
        for item in items {
            guard !item.isEmpty else {
                throw ConfigurationError(
                    "workers '\(text)' has an empty item; separate counts with single commas, as 1,2,4")
            }
            counts.formUnion(try workerCounts(item: item))
        }
        return counts.sorted()
    }

    private static let workerForms = "write a count (8), a list (1,2,4), a range (1-4) or a geometric range (1-64x2)"

    private static func workerCounts(item: String) throws(ConfigurationError) -> [Int] {
        if let count = Int(item) {
            try check(workerCount: count)
            return [count]
        }
        let bounds = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let end = bounds.count == 2 ? bounds[1].split(separator: "x", omittingEmptySubsequences: false) : []
        guard bounds.count == 2, end.count <= 2, let low = Int(bounds[0]), let high = end.first.flatMap({ Int($0) }),
            let factor = end.count == 2 ? Int(end[1]) : 1
        else {
            throw ConfigurationError("workers '\(item)' is not a count or a range; \(workerForms)")
        }
        try check(workerCount: low)
        try check(workerCount: high)
        guard low <= high else {
            throw ConfigurationError(
                "worker range '\(item)' runs backwards; write the smaller number first, as \(high)-\(low)")
        }
        if end.count == 1 { return Array(low...high) }
        guard factor >= 2 else {
            throw ConfigurationError(
                "worker range '\(item)' needs a factor of at least 2 after the x, as \(low)-\(high)x2")
        }
        return Array(sequence(first: low) { $0 * factor }.prefix { $0 <= high })
    }

    private static func check(workerCount: Int) throws(ConfigurationError) {
        guard workerCount >= 1 else {
            throw ConfigurationError("worker counts must be at least 1, not \(workerCount)")
        }
        guard workerCount <= 1024 else {
            throw ConfigurationError("worker counts must be at most 1024, not \(workerCount)")
        }
    }

    /// Parses a comma-separated list of strategies, such as `watch,lua,decr`.
    ///
    /// - Returns: the strategies in the order given, each once.
    /// - Throws: `ConfigurationError` naming an unknown strategy and the known ones.
    public static func strategies(parsing text: String) throws(ConfigurationError) -> [Strategy] {
        var strategies: [Strategy] = []
        let known = Strategy.ownStrategies.map(\.rawValue).joined(separator: ", ")
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = item.trimmingCharacters(in: .whitespaces)
            guard let strategy = Strategy(rawValue: name), Strategy.ownStrategies.contains(strategy) else {
                throw ConfigurationError(
                    name.isEmpty
                        ? "strategies '\(text)' has an empty item; write a comma-separated list such as watch,lua"
                        : "unknown strategy '\(name)'; use \(known), comma-separated")
            }
            if !strategies.contains(strategy) { strategies.append(strategy) }
        }
        return strategies
    }
}
