import Foundation

/// The command line of `stocksim-benchmark`.
struct Options {
    var stock = 20_000
    /// The worker counts asked for, sorted, without duplicates.
    var workers = [1, 2, 4, 8, 16, 32, 64]
    var repeats = 3
    /// `--reference-dir`; `nil`: `../shared/reference` beside the package root, when it exists.
    var referenceDirectory: String?
    /// `--python`; `nil`: `python3` from `PATH`.
    var python: String?
    /// `--stocksim`; `nil`: the `stocksim` binary beside this program.
    var stocksim: String?
    var help = false

    /// Worker counts the targets need whatever `--workers` says: 1 and 10 (the ledger cost, target 5; 10 for the
    /// redis-py snippet, target 6).
    static let requiredWorkers = [1, 10]

    static let usage = """
        usage: stocksim-benchmark [--stock N] [--workers LIST] [--repeat R] [--reference-dir PATH] [--python PATH]
                                  [--stocksim PATH]

        Runs StockSim at several worker counts and strategies, and the reference programs in ../shared/reference
        (the raw-hiredis C loop, plain and lua, and the redis-py snippet) with the same stock and workers, all
        against one private redis-server, round by round so that drift on a shared machine hits both alike. Prints
        medians with their min–max, ratios, and a PASS/FAIL line per performance target.

          --stock N             units sold per run (default 20000); lua runs, StockSim's and the C loop's, sell
                                N × min(workers, 5) so that they last about a second
          --workers LIST        comma-separated worker counts (default 1,2,4,8,16,32,64); 1 and 10 are always
                                measured, because the targets use them
          --repeat R            rounds; every figure is the median of R runs (default 3)
          --reference-dir PATH  the directory holding c_watch_decr.c and redis_py_reduce_stock.py
                                (default ../shared/reference beside the package root, when it exists)
          --python PATH         the Python that runs the redis-py snippet; it needs `pip install redis`
                                (default python3)
          --stocksim PATH       the stocksim binary the workers run (default: the one beside this program)

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
            var flag = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            guard ["--stock", "--workers", "--repeat", "--reference-dir", "--python", "--stocksim"].contains(flag)
            else {
                throw UsageError("unknown option '\(argument)'")
            }
            guard let value = inlineValue ?? remaining.popFirst(), !value.isEmpty else {
                throw UsageError("\(flag) needs a value")
            }
            switch flag {
            case "--stock": stock = try Self.positive(value, flag)
            case "--workers": workers = try Self.workerList(value)
            case "--repeat": repeats = try Self.positive(value, flag)
            case "--reference-dir": referenceDirectory = value
            case "--python": python = value
            default: stocksim = value
            }
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

    static func workerList(_ text: String) throws(UsageError) -> [Int] {
        var counts = Set<Int>()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let count = Int(item.trimmingCharacters(in: .whitespaces)), (1...1024).contains(count) else {
                throw UsageError(
                    "--workers takes worker counts from 1 to 1024 separated by commas, like 1,2,4; '\(item)' is not one"
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
