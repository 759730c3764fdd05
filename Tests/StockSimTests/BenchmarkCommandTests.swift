import Foundation
import Spawn
import Testing

@testable import StockSimBenchmark

/// `stocksim-benchmark` end to end, on tiny stocks: what it prints, its exit statuses, and that it leaves nothing
/// running. No figure is asserted: speed depends on the machine, and a benchmark reports, it does not gate.
@Suite("stocksim-benchmark", .serialized)
struct BenchmarkCommandTests {
    /// The `stocksim-benchmark` binary built beside this test bundle.
    static var executable: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("stocksim-benchmark").path
    }

    /// Runs the benchmark with a private TMPDIR (its redis-server's temp dir goes there) and returns what it printed.
    func benchmark(_ arguments: [String]) throws -> StocksimCLI.Result {
        let tmpdir = try TemporaryDirectory(prefix: "benchmark-test")
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = tmpdir.path
        let out = tmpdir.path + "/stdout"
        let err = tmpdir.path + "/stderr"
        let clock = ContinuousClock()
        let start = clock.now
        let child = try ChildProcess.spawn(
            Self.executable, arguments: arguments, environment: environment.map { "\($0)=\($1)" }, stdout: .file(out),
            stderr: .file(err), processGroup: nil)
        let status = child.wait(timeout: .seconds(300))
        let result = StocksimCLI.Result(
            status: status, stdout: TextFile.read(out), stderr: TextFile.read(err),
            seconds: (clock.now - start) / .seconds(1), directory: tmpdir)
        #expect(StocksimCLI.leftovers(of: result).isEmpty, "left running: \(StocksimCLI.leftovers(of: result))")
        return result
    }

    /// A stand-in for python3 that says it has redis 9.9.9 and prints `line` for the snippet's run.
    func fakePython(in directory: TemporaryDirectory, printing line: String, status: Int = 0) throws -> String {
        try directory.write(
            "python",
            """
            #!/bin/sh
            if [ "$1" = "-c" ]; then echo 9.9.9; exit 0; fi
            stock=0
            while [ $# -gt 0 ]; do [ "$1" = "--stock" ] && stock=$2; shift; done
            echo "\(line)" | sed "s/STOCK/$stock/"
            exit \(status)
            """, executable: true)
    }

    @Test(arguments: [
        (["--stock", "0"], "--stock takes a positive whole number"),
        (["--workers", "1,,4"], "--workers takes worker counts"),
        (["--workers", "2000"], "'2000' is not one"),
        (["--repeat", "many"], "--repeat takes a positive whole number, not 'many'"),
        (["--frobnicate"], "unknown option '--frobnicate'"),
        (["--stock"], "--stock needs a value"),
        (["--scaling-orders", "10,0"], "--scaling-orders takes order counts from 1 to 100000000"),
        (["--scaling-workers", "2000"], "--scaling-workers takes worker counts from 1 to 1024"),
        (["--scaling=yes"], "unknown option '--scaling=yes'"),
    ])
    func badFlagsExit64WithOneLine(arguments: [String], message: String) throws {
        let result = try benchmark(arguments)
        #expect(result.exitCode == 64)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    @Test func setupFailuresExit2WithOneLine() throws {
        for (arguments, message) in [
            (["--stocksim", "/nonexistent/stocksim"], "no stocksim binary at /nonexistent/stocksim"),
            (
                ["--reference-dir", "/nonexistent/reference"],
                "--reference-dir /nonexistent/reference is not a directory"
            ),
            (["--python", "/nonexistent/python3"], "--python /nonexistent/python3 is not an executable"),
        ] {
            let result = try benchmark(arguments)
            #expect(result.exitCode == 2, "\(arguments)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
        }
    }

    @Test func withoutReferencesItSaysSoAndPrintsStockSimsOwnFigures() throws {
        let empty = try TemporaryDirectory()
        // The scaling runs follow the rounds by default (here on tiny counts), so one invocation prints every target.
        let result = try benchmark([
            "--stock", "300", "--workers", "2", "--repeat", "2", "--reference-dir", empty.path, "--scaling-orders",
            "100,200", "--scaling-workers", "2",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("workers 1, 2, 10 (1 and 10 added: the targets use them); 2 rounds"), "\(out)")
        #expect(out.contains("C reference: skipped, \(empty.path)/c_watch_decr.c is absent"))
        #expect(out.contains("redis-py reference: skipped, \(empty.path)/redis_py_reduce_stock.py is absent"))
        #expect(!out.contains("C watch  ratio") && !out.contains("C lua  ratio"), "\(out)")
        // A row per worker count in each of the five rate tables (--watch-ahead's included) and the three cost tables.
        let rows = out.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("10 ") }
        #expect(rows.count == 8, "\(out)")
        #expect(out.contains("watch --no-ledger --watch-ahead (each WATCH and GET sent behind the last EXEC"), "\(out)")
        #expect(out.contains("context switches per worker, voluntary + involuntary"), "\(out)")
        #expect(out.contains("minor page faults per worker"), "\(out)")
        #expect(out.contains("CPU per sale, user + system µs"), "\(out)")
        #expect(
            out.contains(
                "SKIP  1. watch --no-ledger ÷ the better C watch loop, every worker count: no C reference in this run"))
        #expect(out.contains("SKIP  2. no collapse: watch at 64 workers was not measured"))
        #expect(out.contains("SKIP  3. best watch --no-ledger median ÷ the C watch loop's best: no C reference"))
        #expect(out.contains("SKIP  4. lua --no-ledger ÷ C lua loop, every worker count: no C reference in this run"))
        #expect(out.contains("SKIP  6. watch --no-ledger ÷ redis-py snippet, 10 workers: no redis-py reference"))
        // The ledger-cost target needs no reference: it is measured, whatever its verdict.
        let ledger = out.split(separator: "\n").filter { $0.contains("5. ledger cost: watch ÷ watch --no-ledger") }
        #expect(ledger.count == 2)
        #expect(ledger.allSatisfy { $0.contains("PASS") || $0.contains("FAIL") }, "\(ledger)")
        // Progress goes to stderr: a line per round and worker count, then one per scaling run.
        #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix("round ") }.count == 6, "\(result.stderr)")
        #expect(result.stderr.contains("scaling: 200 orders in "), "\(result.stderr)")
        // The scaling tables after the rate tables, and one list of targets after both: the rounds' and the
        // scaling's, in one tally.
        let scalingAt = out.range(of: "scaling: orders 100, 200; workers 2; open-files limit ")
        let targetsAt = out.range(of: "targets (each from runs of this invocation against this redis-server):")
        let ratesAt = out.range(of: "sales per second; ratio")
        #expect(ratesAt != nil && scalingAt != nil && targetsAt != nil, "\(out)")
        if let ratesAt, let scalingAt, let targetsAt {
            #expect(ratesAt.upperBound < scalingAt.lowerBound && scalingAt.upperBound < targetsAt.lowerBound)
            let targets = out[targetsAt.upperBound...].split(separator: "\n")
            #expect(targets.contains { $0.contains("5. ledger cost") }, "\(out)")
            for target in ["S1. driver peak RSS", "S2. set-up + audit at 200 orders", "S4. worker peak RSS"] {
                let line = targets.first { $0.contains(target) }
                #expect(line.map { $0.contains("PASS") || $0.contains("FAIL") } == true, "\(target) in \(out)")
            }
            #expect(targets.contains { $0.contains("SKIP  S3. 1,000 workers spawned and connected: not measured") })
            #expect(out.components(separatedBy: "passed, ").count == 2, "one tally: \(out)")
        }
    }

    /// `--no-scaling`: the rounds alone, with no scaling run or target.
    @Test func noScalingRunsTheRoundsAlone() throws {
        let empty = try TemporaryDirectory()
        let result = try benchmark([
            "--stock", "100", "--workers", "1", "--repeat", "1", "--settle", "0", "--reference-dir", empty.path,
            "--no-scaling",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains("sales per second; ratio"), "\(result.stdout)")
        #expect(!result.stdout.contains("scaling: orders") && !result.stdout.contains("S1."), "\(result.stdout)")
        #expect(!result.stderr.contains("scaling: "), "\(result.stderr)")
    }

    @Test func comparesWithTheCLoopAndTheRedisPySnippet() throws {
        let reference = try TemporaryDirectory()
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
                "shared/reference/c_watch_decr.c")
        let haveC = FileManager.default.fileExists(atPath: shared.path) && ChildProcess.which("cc") != nil
        if haveC { try FileManager.default.copyItem(atPath: shared.path, toPath: reference.path + "/c_watch_decr.c") }
        try reference.write("redis_py_reduce_stock.py", "# stand-in: the fake python below prints the result\n")
        let python = try fakePython(
            in: reference,
            printing: "sold=STOCK conflicts=7 final=0 seconds=1.000 sales_per_s=1000 oversell_check=ok")
        let result = try benchmark([
            "--stock", "200", "--workers", "12", "--repeat", "1", "--no-scaling", "--reference-dir", reference.path,
            "--python", python,
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(
            out.contains("redis-py reference: \(reference.path)/redis_py_reduce_stock.py with \(python) (redis 9.9.9)"))
        #expect(out.contains("1,000 (1,000–1,000) *"), "\(out)")
        #expect(out.contains("* at 12 workers redis-py sold 20 units (the stock ÷ 10), not 200"), "\(out)")
        #expect(out.contains("6. watch --no-ledger ÷ redis-py snippet, 10 workers: "), "\(out)")
        #expect(out.contains(" / 1,000 sales/s = "), "\(out)")
        if haveC {
            #expect(out.contains("C reference: \(reference.path)/c_watch_decr.c, compiled with cc -O2 -lhiredis"))
            #expect(out.contains("C watch+backoff  ratio"), "\(out)")
            // Targets 1 and 4 at every worker count measured (1, 10, 12), target 3 once.
            for count in ["1 worker", "10 workers", "12 workers"] {
                for target in [
                    "1. watch --no-ledger ÷ the better C watch loop (plain or backoff), \(count): ",
                    "4. lua --no-ledger ÷ C lua loop, \(count): ",
                ] {
                    let line = out.split(separator: "\n").first { $0.contains(target) }
                    #expect(line.map { $0.contains("PASS") || $0.contains("FAIL") } == true, "\(target) in \(out)")
                }
            }
            for target in ["3. best watch --no-ledger median (at "] {
                let line = out.split(separator: "\n").first { $0.contains(target) }
                #expect(line.map { $0.contains("PASS") || $0.contains("FAIL") } == true, "\(target) in \(out)")
            }
        }
    }

    /// `--cpus split` pins for real: a contender (the stand-in python) and the benchmark's redis-server (found by
    /// its INFO's process_id) record the CPUs the kernel lets them use.
    @Test func splitPinsTheServerAndTheContendersApart() throws {
        let allowed = CPUAffinity.allowed()
        let reference = try TemporaryDirectory()
        try reference.write("redis_py_reduce_stock.py", "# stand-in\n")
        try reference.write(
            "python",
            """
            #!/bin/sh
            if [ "$1" = "-c" ]; then echo 9.9.9; exit 0; fi
            stock=0
            port=0
            while [ $# -gt 0 ]; do
              [ "$1" = "--stock" ] && stock=$2
              [ "$1" = "--port" ] && port=$2
              shift
            done
            grep Cpus_allowed_list /proc/self/status > \(reference.path)/contender
            pid=$(redis-cli -p $port info server | tr -d '\\r' | sed -n 's/^process_id://p')
            grep Cpus_allowed_list /proc/$pid/status > \(reference.path)/server
            echo "sold=$stock conflicts=0 final=0 seconds=1.000 sales_per_s=1000 oversell_check=ok"
            """, executable: true)
        let result = try benchmark([
            "--stock", "100", "--workers", "1", "--repeat", "1", "--settle", "0", "--cpus", "split", "--no-scaling",
            "--reference-dir", reference.path, "--python", reference.path + "/python",
        ])
        guard allowed.count >= 2 else {
            #expect(result.exitCode == 2)
            #expect(result.stderr.contains("--cpus split needs two CPUs"), "\(result.stderr)")
            return
        }
        #expect(result.exitCode == 0, "\(result.stderr)")
        let list = { (cpus: ArraySlice<Int>) in cpus.map(String.init).joined(separator: ",") }
        #expect(
            result.stdout.contains(
                "cpus: redis-server on CPU \(allowed[0]), every contender's processes on CPU"), "\(result.stdout)")
        let contender = TextFile.read(reference.path + "/contender")
        let server = TextFile.read(reference.path + "/server")
        #expect(server == "Cpus_allowed_list:\t\(allowed[0])\n", "\(server)")
        // The kernel writes a range for consecutive CPUs (1-3); with two CPUs the contenders have one.
        if allowed.count == 2 {
            #expect(contender == "Cpus_allowed_list:\t\(list(allowed.dropFirst()))\n", "\(contender)")
        } else {
            #expect(!contender.isEmpty && contender != server, "\(contender)")
        }
    }

    /// A stand-in python that records the machine's halt-poll window while the benchmark runs it and reports its
    /// sales.
    func haltPollRecordingPython(in reference: TemporaryDirectory) throws -> String {
        try reference.write("redis_py_reduce_stock.py", "# stand-in\n")
        return try reference.write(
            "python",
            """
            #!/bin/sh
            if [ "$1" = "-c" ]; then echo 9.9.9; exit 0; fi
            stock=0
            while [ $# -gt 0 ]; do [ "$1" = "--stock" ] && stock=$2; shift; done
            cat \(HaltPolling.parameter) > \(reference.path)/window.tmp && mv \(reference.path)/window.tmp \(reference.path)/window
            echo "sold=$stock conflicts=0 final=0 seconds=1.000 sales_per_s=1000 oversell_check=ok"
            """, executable: true)
    }

    /// `--halt-poll` changes the whole machine's idle polling, so it must hold for the runs and be undone after:
    /// a contender reads the kernel's parameter during its run, and the parameter is read again once the
    /// benchmark has ended. Where the machine has no haltpoll parameter, or it cannot be written, the benchmark
    /// says so and exits 2.
    @Test func haltPollHoldsForTheRunsAndIsWrittenBack() throws {
        let reference = try TemporaryDirectory()
        let python = try haltPollRecordingPython(in: reference)
        let original = HaltPolling.window()
        defer { if let original { try? HaltPolling.write(original, at: HaltPolling.parameter, what: "test") } }
        let chosen = original == 123_000 ? 124_000 : 123_000
        let result = try benchmark([
            "--stock", "100", "--workers", "1", "--repeat", "1", "--settle", "0", "--halt-poll", "\(chosen)",
            "--no-scaling", "--reference-dir", reference.path, "--python", python,
        ])
        guard let original else {
            #expect(result.exitCode == 2)
            #expect(result.stderr.contains("--halt-poll: this machine has no"), "\(result.stderr)")
            return
        }
        guard access(HaltPolling.parameter, W_OK) == 0 else {
            #expect(result.exitCode == 2)
            #expect(result.stderr.contains("run as root, or without --halt-poll"), "\(result.stderr)")
            return
        }
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(TextFile.read(reference.path + "/window") == "\(chosen)\n")
        #expect(HaltPolling.window() == original)
        #expect(
            result.stdout.contains(
                "cpuidle: haltpoll, guest_halt_poll_ns \(chosen): an idle vCPU polls up to \(HaltPolling.microseconds(chosen)) before it halts; set by --halt-poll for this run, \(original) restored at the end"
            ), "\(result.stdout)")
    }

    /// Stopped by SIGTERM, the benchmark writes the window back before it exits: here while its main thread waits
    /// out the pause before the first run (`--settle 30`), so that only the signal's handler can.
    @Test func haltPollIsWrittenBackWhenTheBenchmarkIsStopped() throws {
        guard let original = HaltPolling.window(), access(HaltPolling.parameter, W_OK) == 0 else { return }
        defer { try? HaltPolling.write(original, at: HaltPolling.parameter, what: "test") }
        let reference = try TemporaryDirectory()
        let python = try haltPollRecordingPython(in: reference)
        let tmpdir = try TemporaryDirectory(prefix: "benchmark-test")
        let chosen = original == 123_000 ? 124_000 : 123_000
        let child = try ChildProcess.spawn(
            Self.executable,
            arguments: [
                "--stock", "100", "--workers", "1", "--repeat", "1", "--settle", "30", "--halt-poll", "\(chosen)",
                "--reference-dir", reference.path, "--python", python,
            ],
            environment: ["TMPDIR=\(tmpdir.path)", "PATH=\(ProcessInfo.processInfo.environment["PATH"] ?? "")"],
            stdout: .file(tmpdir.path + "/stdout"), stderr: .file(tmpdir.path + "/stderr"), processGroup: nil)
        let set = StocksimCLI.waitUntil(timeout: .seconds(20)) { HaltPolling.window() == chosen }
        #expect(set, "\(TextFile.read(tmpdir.path + "/stderr"))")
        // Past the header, into the first pause.
        let paused = StocksimCLI.waitUntil(timeout: .seconds(20)) {
            TextFile.read(tmpdir.path + "/stdout").contains("redis-py reference:")
        }
        #expect(paused, "\(TextFile.read(tmpdir.path + "/stdout"))")
        child.signal(SIGTERM)
        let status = child.wait(timeout: .seconds(60))
        #expect(status == .exited(143), "\(TextFile.read(tmpdir.path + "/stderr"))")
        #expect(HaltPolling.window() == original)
        #expect(!FileManager.default.fileExists(atPath: reference.path + "/window"))
        #expect(StocksimCLI.leftovers(tmpdir: tmpdir.path).isEmpty)
    }

    @Test func aReferenceRunThatFailsItsCheckStopsTheBenchmark() throws {
        let reference = try TemporaryDirectory()
        try reference.write("redis_py_reduce_stock.py", "# stand-in\n")
        let python = try fakePython(
            in: reference,
            printing: "sold=STOCK conflicts=0 final=-3 seconds=1.000 sales_per_s=1000 oversell_check=FAIL",
            status: 1)
        let result = try benchmark([
            "--stock", "100", "--workers", "1", "--repeat", "1", "--no-scaling", "--reference-dir", reference.path,
            "--python", python,
        ])
        #expect(result.exitCode == 2)
        let errors = result.stderr.split(separator: "\n").filter { !$0.hasPrefix("round ") }
        #expect(errors.count == 1, "\(result.stderr)")
        #expect(
            errors.first?.contains("the redis-py reference (--stock 100 --workers 1 --tasks 1) exited with status 1")
                == true)
        #expect(errors.first?.contains("oversell_check=FAIL") == true, "\(result.stderr)")
    }

    @Test func aPythonWithoutRedisIsSkippedWithTheInstallCommand() throws {
        let reference = try TemporaryDirectory()
        try reference.write("redis_py_reduce_stock.py", "# stand-in\n")
        let python = try reference.write(
            "python", "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'redis'\" >&2\nexit 1\n", executable: true
        )
        let result = try benchmark([
            "--stock", "100", "--workers", "1", "--repeat", "1", "--no-scaling", "--reference-dir", reference.path,
            "--python", python,
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains(
                "redis-py reference: skipped, \(python) has no 'redis' package; install it with 'pip install redis'"))
        #expect(result.stdout.contains("SKIP  6."))
    }

    @Test func scalingPrintsItsTablesAndTargets() throws {
        let result = try benchmark(["--scaling", "--scaling-orders", "300,100", "--scaling-workers", "3,2"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("scaling: orders 100, 300; workers 2, 3; open-files limit "), "\(out)")
        let lines = out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        // A row per order count and per worker count.
        #expect(lines.filter { $0.hasPrefix("100 ") || $0.hasPrefix("300 ") }.count == 2, "\(out)")
        #expect(lines.filter { $0.hasPrefix("2 ") || $0.hasPrefix("3 ") }.count == 2, "\(out)")
        for target in ["S1. driver peak RSS", "S2. set-up + audit at 300 orders", "S4. worker peak RSS"] {
            let line = lines.first { $0.contains(target) }
            #expect(line.map { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") } == true, "\(target) in \(out)")
        }
        #expect(out.contains("SKIP  S3. 1,000 workers spawned and connected: not measured"), "\(out)")
        #expect(!out.contains("sales per second; ratio"), "the rate rounds do not run with --scaling: \(out)")
    }

    /// `--witness-cost`: watch and lua each with the witness and with `--no-witness` in every round (the run checks
    /// that each run did or did not check the witness), a row per strategy and worker count, a target per strategy.
    /// With three rounds its rate line is a PASS or FAIL unless the rounds' paired ratios spread wider than ±5%, then
    /// a SKIP that says so; `--no-callgrind` skips the instruction count with its reason.
    @Test func witnessCostPrintsItsTableAndTargets() throws {
        let result = try benchmark([
            "--witness-cost", "--workers", "2", "--repeat", "3", "--stock", "300", "--no-callgrind",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("sales/s with witness"), "\(out)")
        #expect(out.contains("paired ratio (min–max)"), "\(out)")
        let lines = out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.filter { $0.hasPrefix("watch  ") || $0.hasPrefix("lua  ") }.count == 2, "\(out)")
        for strategy in ["watch", "lua"] {
            let decided = lines.first {
                $0.contains("the per-sale witness costs \(strategy) ≤ 5.0% of its sales rate")
            }
            let unresolved = lines.first {
                $0.hasPrefix("SKIP")
                    && $0.contains("the per-sale witness's cost to \(strategy)'s sales rate is not resolved here")
                    && $0.contains("spread wider than ±5.0%")
            }
            #expect(
                decided.map { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") } == true || unresolved != nil,
                "\(strategy) in \(out)")
            #expect(lines.contains("SKIP  \(strategy): instructions not counted (--no-callgrind)"), "\(out)")
        }
        #expect(result.stderr.contains("watch --no-witness"), "\(result.stderr)")
        #expect(!out.contains("sales per second; ratio"), "the rate rounds do not run with --witness-cost: \(out)")
    }

    /// One round shows no noise: the rate lines do not claim a PASS or FAIL from it.
    @Test func oneRoundOfWitnessCostDecidesNothingFromTheRate() throws {
        let result = try benchmark([
            "--witness-cost", "--workers", "1", "--repeat", "1", "--stock", "200", "--no-callgrind",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        for strategy in ["watch", "lua"] {
            #expect(
                result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.contains {
                    $0.hasPrefix("SKIP  the per-sale witness's cost to \(strategy)'s sales rate is not resolved here")
                        && $0.contains("too few rounds to know the noise")
                }, "\(result.stdout)")
        }
    }

    /// Under callgrind (when valgrind is installed, and not under AddressSanitizer, which valgrind cannot run):
    /// instructions per order with and without the witness, a PASS/FAIL line per strategy from them.
    @Test(
        .enabled(if: Self.valgrindRuns, "needs valgrind on PATH, and a build without AddressSanitizer"),
        .timeLimit(.minutes(10)))
    func witnessCostCountsInstructionsUnderCallgrind() throws {
        let result = try benchmark([
            "--witness-cost", "--workers", "1", "--repeat", "1", "--stock", "200", "--callgrind-units", "200",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("--tool=callgrind"), "\(out)")
        let lines = out.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for strategy in ["watch", "lua"] {
            // A row with the two counts (e.g. "27.08k") and their ratio, and a target line decided by them.
            let row = lines.first { $0.hasPrefix("\(strategy) ") && $0.hasSuffix("k") && $0.contains("×") }
            #expect(row != nil, "\(strategy) in \(out)")
            let target = lines.first {
                $0.contains("the per-sale witness costs \(strategy) ≤ 5.0% of the instructions of a worker's order")
            }
            #expect(target.map { $0.hasPrefix("PASS") || $0.hasPrefix("FAIL") } == true, "\(strategy) in \(out)")
        }
    }

    static var valgrindRuns: Bool {
        let environment = ProcessInfo.processInfo.environment
        guard environment["ASAN_OPTIONS"] == nil else { return false }
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/valgrind") }
    }
}
