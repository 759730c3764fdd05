import Foundation

/// The command line of `stocksim-benchmark`.
struct Options {
    var stock = 20_000
    /// The worker counts asked for, sorted, without duplicates.
    var workers = [1, 2, 4, 8, 16, 32, 64]
    var repeats = 3
    /// `--settle`: the pause before each run of the rounds, so that every run starts on a machine at rest from the one
    /// before it.
    var settle: Duration = .seconds(1)
    /// `--cpus`: where redis-server and the contenders run.
    var placement = Placement.free
    /// `--halt-poll`: the haltpoll window, in nanoseconds, to set for the run; `nil`: the machine's is left alone.
    var haltPoll: Int?
    /// `--reference-dir`; `nil`: `../shared/reference` beside the package root, when it exists.
    var referenceDirectory: String?
    /// `--python`; `nil`: `python3` from `PATH`.
    var python: String?
    /// `--stocksim`; `nil`: the `stocksim` binary beside this program.
    var stocksim: String?
    var help = false
    /// `--scaling`: measure only how a run's cost grows with the work, without the sales-rate rounds.
    var scaling = false
    /// `--no-scaling`: the sales-rate rounds without the scaling runs that follow them by default.
    var skipsScaling = false
    /// `--scaling-orders`: the order counts of the scaling runs (lua with the ledger, one unit per order); the
    /// default has the two the memory target compares, 10,000 and 5,000,000.
    var scalingOrders = [10_000, 1_000_000, 5_000_000]
    /// `--scaling-workers`: the worker counts of the scaling runs that time spawning.
    var scalingWorkers = [10, 100, 500, 1000]
    /// `--witness-cost`: measure watch and lua with and without the per-sale witness instead of the rounds.
    var witnessCost = false
    /// Whether `--workers` was given (`--witness-cost` then runs at those counts instead of its own 1 and 4).
    var workersGiven = false
    /// `--callgrind-units`: units each of `--witness-cost`'s callgrind runs sells; 0 (`--no-callgrind`): none run.
    var callgrindUnits = WitnessInstructions.defaultUnits

    /// Whether the scaling runs run: after the rounds by default, so that one invocation prints every target; alone
    /// with `--scaling`; not with `--no-scaling` or `--witness-cost`.
    var runsScaling: Bool { scaling || (!skipsScaling && !witnessCost) }

    /// Worker counts the targets need whatever `--workers` says: 1 and 10 (the ledger cost, target 5; 10 for the
    /// redis-py snippet, target 6).
    static let requiredWorkers = [1, 10]

    static let usage = """
        usage: stocksim-benchmark [--stock N] [--workers LIST] [--repeat R] [--settle SECONDS]
                                  [--cpus free|split|shared] [--halt-poll NS] [--reference-dir PATH]
                                  [--python PATH] [--stocksim PATH]
                                  [--scaling-orders LIST] [--scaling-workers LIST | --no-scaling]
               stocksim-benchmark --scaling [--scaling-orders LIST] [--scaling-workers LIST] [--stocksim PATH]
               stocksim-benchmark --witness-cost [--stock N] [--workers LIST] [--repeat R] [--stocksim PATH]
                                  [--callgrind-units N | --no-callgrind]

        Runs StockSim at several worker counts and strategies, and the reference programs in ../shared/reference
        (the raw-hiredis C loop, plain and lua, and the redis-py snippet) with the same stock and workers, all
        against one private redis-server, round by round so that drift on a shared machine hits both alike; then
        the scaling runs (below). Prints medians with their min–max, ratios, and one PASS/FAIL line per target of
        both, every target from this one invocation.

          --stock N             units sold per run (default 20000); lua runs, StockSim's and the C loop's, sell
                                N × min(workers, 5) so that they last about a second
          --workers LIST        comma-separated worker counts (default 1,2,4,8,16,32,64); 1 and 10 are always
                                measured, because the targets use them
          --repeat R            rounds; every figure is the median of R runs (default 3)
          --settle SECONDS      the pause before each run of the rounds, up to 60, decimals allowed (default 1;
                                0: none). A StockSim run that started at once after the plain C loop at 10
                                workers sold about half as fast as the others; a 1 s pause removed that
          --cpus free|split|shared
                                where the processes run (default free): free, where the scheduler puts them;
                                split, redis-server on the first CPU this process may use and every contender's
                                processes on the others (needs two); shared, all on the first CPU. Where idle CPUs
                                halt (a VM), a wake-up on another CPU costs tens of µs and the scheduler's
                                placement alone can change a run's rate several times; pinned, every contender
                                runs in the same place
          --halt-poll NS        on a VM whose cpuidle driver is haltpoll: how long an idle vCPU polls before it
                                halts, in nanoseconds, 0 to 1000000, set for the run and the value found
                                written back at the end, also on SIGINT and SIGTERM (needs root; default: the
                                machine's, left alone, and printed). With 0 a round trip that must wake a halted
                                vCPU costs about 100 µs, so the ratios measure wake-ups; 200000 is the kernel's
                                default
          --reference-dir PATH  the directory holding c_watch_decr.c and redis_py_reduce_stock.py
                                (default ../shared/reference beside the package root, when it exists)
          --python PATH         the Python that runs the redis-py snippet; it needs `pip install redis`
                                (default python3)
          --stocksim PATH       the stocksim binary the workers run (default: the one beside this program)

          --scaling             only the scaling runs, which otherwise follow the rounds above: how a run's cost
                                grows with the work. Orders → set-up + audit seconds, peak RSS, Redis memory per
                                ledger entry (lua with the ledger, 4 workers); workers → spawn seconds and worker
                                RSS (lua, 10 units per worker); then a PASS/FAIL line per target. About 4 to 5
                                minutes on 2 cores at the defaults, most of it the 5,000,000 orders
          --no-scaling          the rounds without the scaling runs
          --scaling-orders LIST order counts, comma-separated (default 10000,1000000,5000000: the issue's memory
                                target compares 5,000,000 with 10,000)
          --scaling-workers LIST
                                worker counts, comma-separated, up to 1024 (default 10,100,500,1000); a count that
                                does not fit the open-files or process limit is skipped with a note

          --witness-cost        instead of the rounds above: what the per-sale witness costs. watch and lua, each
                                with the witness and with --no-witness, alternating within every round, at 1 and 4
                                workers (or --workers LIST); prints sales/s and CPU µs per sale with and without,
                                each round's paired ratio, and a PASS/FAIL line per strategy (target: ≤ 5% slower;
                                SKIP where the rounds spread wider than that). Then, with valgrind on PATH, one run
                                each under callgrind: instructions per sale in a worker's sale and in the driver's
                                witness check, with a PASS/FAIL line per strategy that load does not move
          --callgrind-units N   units each callgrind run sells (default 3000)
          --no-callgrind        no callgrind runs: their lines SKIP

        Exit status: 0 when the benchmark ran, whatever its figures (it reports, it does not gate); 2 when it could
        not run (no redis-server, no stocksim binary, a run that failed its audit); 64 on a bad flag or value.
        """

    /// Parses the arguments, without the program name; `--flag value` and `--flag=value` both work.
    ///
    /// - Throws: `UsageError` naming the flag and what it takes.
    init(_ arguments: [String]) throws(UsageError) {
        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            if argument == "--help" || argument == "-h" {
                help = true
                continue
            }
            if argument == "--scaling" {
                scaling = true
                continue
            }
            if argument == "--no-scaling" {
                skipsScaling = true
                continue
            }
            if argument == "--witness-cost" {
                witnessCost = true
                continue
            }
            if argument == "--no-callgrind" {
                callgrindUnits = 0
                continue
            }
            var flag = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            guard
                [
                    "--stock", "--workers", "--repeat", "--settle", "--cpus", "--halt-poll", "--reference-dir",
                    "--python", "--stocksim", "--scaling-orders", "--scaling-workers", "--callgrind-units",
                ].contains(flag)
            else {
                throw UsageError("unknown option '\(argument)'")
            }
            guard let value = inlineValue ?? remaining.popFirst(), !value.isEmpty else {
                throw UsageError("\(flag) needs a value")
            }
            switch flag {
            case "--stock": stock = try Self.positive(value, flag)
            case "--workers":
                workers = try Self.workerList(value)
                workersGiven = true
            case "--repeat": repeats = try Self.positive(value, flag)
            case "--settle": settle = try Self.seconds(value, flag, upTo: 60)
            case "--cpus":
                guard let chosen = Placement(rawValue: value) else {
                    throw UsageError("--cpus takes free, split or shared, not '\(value)'")
                }
                placement = chosen
            case "--halt-poll":
                guard let nanoseconds = Int(value), (0...HaltPolling.limit).contains(nanoseconds) else {
                    throw UsageError(
                        "--halt-poll takes nanoseconds from 0 to \(HaltPolling.limit), like \(HaltPolling.kernelDefault), not '\(value)'"
                    )
                }
                haltPoll = nanoseconds
            case "--reference-dir": referenceDirectory = value
            case "--python": python = value
            case "--scaling-orders": scalingOrders = try Self.countList(value, flag, 1...100_000_000, "order counts")
            case "--scaling-workers": scalingWorkers = try Self.countList(value, flag, 1...1024, "worker counts")
            case "--callgrind-units": callgrindUnits = try Self.positive(value, flag)
            default: stocksim = value
            }
        }
        if scaling && skipsScaling {
            throw UsageError("--scaling runs only the scaling runs and --no-scaling leaves them out; give one of them")
        }
    }

    /// The worker counts measured: those asked for and the ones the targets need.
    var measuredWorkers: [Int] {
        Array(Set(workers + Self.requiredWorkers)).sorted()
    }

    static func positive(_ text: String, _ flag: String) throws(UsageError) -> Int {
        guard let value = Int(text), value > 0 else {
            throw UsageError("\(flag) takes a positive whole number, not '\(text)'")
        }
        return value
    }

    /// "0.5" → 500 ms: a whole or decimal number of seconds from 0 to `limit`.
    static func seconds(_ text: String, _ flag: String, upTo limit: Int) throws(UsageError) -> Duration {
        guard let value = Double(text), value.isFinite, value >= 0, value <= Double(limit) else {
            throw UsageError("\(flag) takes seconds from 0 to \(limit), like 1 or 0.5, not '\(text)'")
        }
        return .nanoseconds(Int64((value * 1e9).rounded()))
    }

    static func workerList(_ text: String) throws(UsageError) -> [Int] {
        try countList(text, "--workers", 1...1024, "worker counts")
    }

    /// "1,4,2" → [1, 2, 4]: counts in `range`, sorted, without duplicates.
    static func countList(_ text: String, _ flag: String, _ range: ClosedRange<Int>, _ what: String)
        throws(UsageError) -> [Int]
    {
        var counts = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let count = Int(item.trimmingCharacters(in: .whitespaces)), range.contains(count) else {
                throw UsageError(
                    "\(flag) takes \(what) from \(range.lowerBound) to \(range.upperBound) separated by commas, like 1,2,4; '\(item)' is not one"
                )
            }
            counts.insert(count)
        }
        return counts.sorted()
    }
}

/// A bad flag or value: exit 64.
struct UsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// The benchmark could not run, or a run it measured is not a valid figure: exit 2.
struct SetupFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
