import StockSim

/// One thing measured at every worker count.
enum Contender: Hashable, CustomStringConvertible {
    /// StockSim with a strategy, with or without the ledger (default adaptive backoff).
    case stocksim(Strategy, ledger: Bool)
    /// `c_watch_decr.c`, plain or in lua mode.
    case cLoop(lua: Bool)
    /// `redis_py_reduce_stock.py`.
    case redisPy

    var description: String {
        switch self {
        case .stocksim(let strategy, let ledger): ledger ? "\(strategy)" : "\(strategy) --no-ledger"
        case .cLoop(let lua): lua ? "C lua" : "C watch"
        case .redisPy: "redis-py"
        }
    }
}

/// One run's figures.
struct Sample {
    var salesPerSecond: Double
    /// Conflicts per attempt (StockSim's report has it; the tables show it for StockSim only).
    var conflictRate: Double?
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

    func rates(_ contender: Contender, workers: Int) -> [Double] {
        samples[contender]?[workers]?.map(\.salesPerSecond) ?? []
    }

    func rate(_ contender: Contender, workers: Int) -> Spread? {
        Spread(rates(contender, workers: workers))
    }

    func conflictRate(_ contender: Contender, workers: Int) -> Spread? {
        Spread(samples[contender]?[workers]?.compactMap(\.conflictRate) ?? [])
    }

    /// `contender`'s median over `other`'s, with the range of the per-round ratios (each round ran both back to
    /// back), or `nil` when either was not measured.
    func ratio(_ contender: Contender, over other: Contender, workers: Int, otherWorkers: Int? = nil) -> Ratio? {
        let mine = rates(contender, workers: workers)
        let theirs = rates(other, workers: otherWorkers ?? workers)
        guard let a = Spread(mine), let b = Spread(theirs), b.median > 0 else { return nil }
        let rounds = zip(mine, theirs).compactMap { $1 > 0 ? $0 / $1 : nil }
        return Ratio(value: a.median / b.median, mine: a.median, theirs: b.median, rounds: Spread(rounds))
    }
}

/// A ratio of medians, with the spread of the same ratio taken round by round.
struct Ratio {
    var value: Double
    var mine: Double
    var theirs: Double
    var rounds: Spread?
}
