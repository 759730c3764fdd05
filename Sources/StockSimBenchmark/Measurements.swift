import Spawn
import StockSim

/// One thing measured at every worker count.
enum Contender: Hashable, CustomStringConvertible {
    /// StockSim with a strategy, with or without the ledger (default tracking backoff), and for `watch` with or
    /// without `--watch-ahead`.
    case stocksim(Strategy, ledger: Bool, watchAhead: Bool = false)
    /// `c_watch_decr.c` in one of its modes.
    case cLoop(CLoopMode)
    /// `redis_py_reduce_stock.py`.
    case redisPy

    var description: String {
        switch self {
        case .stocksim(let strategy, let ledger, let watchAhead):
            "\(strategy)" + (ledger ? "" : " --no-ledger") + (watchAhead ? " --watch-ahead" : "")
        case .cLoop(.plain): "C watch"
        case .cLoop(.backoff): "C watch+backoff"
        case .cLoop(.lua): "C lua"
        case .redisPy: "redis-py"
        }
    }
}

/// The modes of `c_watch_decr.c`: its fourth argument.
enum CLoopMode: String, Hashable, CaseIterable {
    /// WATCH+GET, then MULTI+DECR+EXEC, retried at once after a conflict.
    case plain
    /// The same, with a full-jitter exponential sleep after each conflict.
    case backoff
    /// One EVALSHA check-and-decrement per sale.
    case lua

    /// The program's arguments after PORT STOCK WORKERS.
    var arguments: [String] { self == .plain ? [] : [rawValue] }
}

/// One run's figures.
struct Sample {
    var salesPerSecond: Double
    /// Conflicts per attempt (StockSim's report has it; the tables show it for StockSim only).
    var conflictRate: Double?
    /// Units sold.
    var sold: Int = 0
    /// The worker processes of the run.
    var workers: Int = 1
    /// What the run's process tree used, from wait4: the C program and its forked workers, stocksim's driver and its
    /// workers, Python and its pool.
    var usage: ResourceUsage?
    /// How the units were shared among the workers (StockSim's report has it; the references do not say).
    var shares: WorkerShares?

    /// Voluntary and involuntary context switches of the tree, per worker.
    var contextSwitchesPerWorker: (voluntary: Double, involuntary: Double)? {
        usage.map {
            (
                Double($0.voluntaryContextSwitches) / Double(workers),
                Double($0.involuntaryContextSwitches) / Double(workers)
            )
        }
    }

    /// Minor page faults of the tree (memory touched for the first time: start-up, buffers, exit), per worker.
    var pageFaultsPerWorker: Double? {
        usage.map { Double($0.minorPageFaults) / Double(workers) }
    }

    /// User + system CPU of the tree per unit sold, in microseconds.
    var cpuMicrosecondsPerSale: Double? {
        guard let usage, sold > 0 else { return nil }
        return usage.cpuSeconds * 1e6 / Double(sold)
    }
}

/// A median with its range.
struct Spread {
    var median: Double
    var min: Double
    var max: Double

    /// `nil` for no values.
    init?(_ values: [Double]) {
        guard let low = values.min(), let high = values.max() else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        median = sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
        min = low
        max = high
    }
}

/// Every sample of the invocation, by contender and worker count, in round order.
struct Measurements {
    private var samples: [Contender: [Int: [Sample]]] = [:]

    mutating func record(_ sample: Sample, for contender: Contender, workers: Int) {
        samples[contender, default: [:]][workers, default: []].append(sample)
    }

    /// Records one sales rate per round, as the target tests give fixed figures.
    mutating func record(rates: [Double], for contender: Contender, workers: Int) {
        for rate in rates { record(Sample(salesPerSecond: rate), for: contender, workers: workers) }
    }

    func samples(_ contender: Contender, workers: Int) -> [Sample] {
        samples[contender]?[workers] ?? []
    }

    func rates(_ contender: Contender, workers: Int) -> [Double] {
        samples(contender, workers: workers).map(\.salesPerSecond)
    }

    func rate(_ contender: Contender, workers: Int) -> Spread? {
        Spread(rates(contender, workers: workers))
    }

    func conflictRate(_ contender: Contender, workers: Int) -> Spread? {
        Spread(samples(contender, workers: workers).compactMap(\.conflictRate))
    }

    /// Median voluntary and involuntary context switches per worker.
    func contextSwitchesPerWorker(_ contender: Contender, workers: Int) -> (voluntary: Double, involuntary: Double)? {
        let perRun = samples(contender, workers: workers).compactMap(\.contextSwitchesPerWorker)
        guard let voluntary = Spread(perRun.map(\.voluntary)), let involuntary = Spread(perRun.map(\.involuntary))
        else { return nil }
        return (voluntary.median, involuntary.median)
    }

    func pageFaultsPerWorker(_ contender: Contender, workers: Int) -> Spread? {
        Spread(samples(contender, workers: workers).compactMap(\.pageFaultsPerWorker))
    }

    func cpuMicrosecondsPerSale(_ contender: Contender, workers: Int) -> Spread? {
        Spread(samples(contender, workers: workers).compactMap(\.cpuMicrosecondsPerSale))
    }

    /// The medians of the rounds' shares: the least worker's over a fair share, the busiest worker's of all.
    func shares(_ contender: Contender, workers: Int) -> WorkerShares? {
        let perRun = samples(contender, workers: workers).compactMap(\.shares)
        guard let least = Spread(perRun.map(\.leastOverFair)), let most = Spread(perRun.map(\.mostOfAll)) else {
            return nil
        }
        return WorkerShares(leastOverFair: least.median, mostOfAll: most.median)
    }

    /// `contender`'s median over `other`'s, with the range of the per-round ratios (each round ran both back to
    /// back), or `nil` when either was not measured.
    func ratio(_ contender: Contender, over other: Contender, workers: Int, otherWorkers: Int? = nil) -> Ratio? {
        let mine = rates(contender, workers: workers)
        let theirs = rates(other, workers: otherWorkers ?? workers)
        guard let a = Spread(mine), let b = Spread(theirs), b.median > 0 else { return nil }
        let rounds = zip(mine, theirs).compactMap { $1 > 0 ? $0 / $1 : nil }
        return Ratio(mine: a.median, theirs: b.median, rounds: Spread(rounds))
    }

    /// The best of `contender`'s medians at `counts` over the best median of any of `others` at the same counts; each
    /// round's ratio takes the best of that round alike. `nil` when `contender` or none of `others` was measured.
    /// With one count, that is `contender` over the better of `others` there.
    func bestRatio(_ contender: Contender, overBestOf others: [Contender], at counts: [Int]) -> BestRatio? {
        let mine = counts.compactMap { count in rate(contender, workers: count).map { (count, $0.median) } }
        let theirs = counts.flatMap { count in
            others.compactMap { other in rate(other, workers: count).map { (other, count, $0.median) } }
        }
        guard let best = mine.max(by: { $0.1 < $1.1 }), let rival = theirs.max(by: { $0.2 < $1.2 }), rival.2 > 0
        else { return nil }
        // Round r: the best of mine in round r over the best of theirs in round r, over every count.
        let roundCount =
            ([contender] + others).flatMap { who in counts.map { rates(who, workers: $0).count } }
            .filter { $0 > 0 }.min() ?? 0
        let rounds = (0..<roundCount).compactMap { round -> Double? in
            let a = counts.compactMap { rates(contender, workers: $0).dropFirst(round).first }.max()
            let b = counts.flatMap { count in others.compactMap { rates($0, workers: count).dropFirst(round).first } }
                .max()
            guard let a, let b, b > 0 else { return nil }
            return a / b
        }
        return BestRatio(
            ratio: Ratio(mine: best.1, theirs: rival.2, rounds: Spread(rounds)),
            workers: best.0, rival: rival.0, rivalWorkers: rival.1)
    }
}

/// How one run's units were shared among its workers. A rate won by one worker selling while the others wait out
/// their backoff is not the concurrency a run exists to exercise, and no rate says so: these do.
struct WorkerShares: Equatable {
    /// The units of the worker that sold least, over a fair share (units ÷ workers): 1 when every worker sold alike.
    var leastOverFair: Double
    /// The units of the worker that sold most, over all units: 1 ÷ workers when every worker sold alike.
    var mostOfAll: Double
}

extension WorkerShares {
    /// From a report's least and most units per worker; `nil` when nothing was sold.
    init?(least: Int, most: Int, sold: Int, workers: Int) {
        guard sold > 0, workers > 0 else { return nil }
        self.init(leastOverFair: Double(least) * Double(workers) / Double(sold), mostOfAll: Double(most) / Double(sold))
    }
}

/// A ratio of medians, with the spread of the same ratio taken round by round.
struct Ratio {
    var mine: Double
    var theirs: Double
    var rounds: Spread?

    /// Mine over theirs.
    var value: Double { mine / theirs }
}

/// A ratio of best medians, and where each best was.
struct BestRatio {
    var ratio: Ratio
    /// Where the contender's best median was.
    var workers: Int
    /// The other side's best, and where.
    var rival: Contender
    var rivalWorkers: Int
}
