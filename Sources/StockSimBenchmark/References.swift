import Foundation
import Spawn
import Synchronization

/// What a reference program printed about one run (`sold=… conflicts=… final=… seconds=… sales_per_s=… check=ok`).
struct ReferenceRun {
    var salesPerSecond: Double
    var sold: Int
    var conflicts: Int
    /// The program's process tree, from wait4.
    var usage: ResourceUsage

    /// Reads the reference's result line and checks that it sold everything without overselling.
    ///
    /// - Parameters:
    ///   - run: what the program printed and how it ended.
    ///   - checkField: `check` (the C loop) or `oversell_check` (the redis-py snippet).
    ///   - name: the program, for the message.
    /// - Throws: `SetupFailure` quoting the output when the run failed or printed no valid result.
    init(_ run: CapturedRun, checkField: String, name: String) throws(SetupFailure) {
        let line = run.stdout.split(separator: "\n").last(where: { $0.contains("sales_per_s=") }) ?? ""
        var fields: [String: String] = [:]
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard run.termination == .exited(0), fields[checkField] == "ok", fields["final"] == "0",
            let rate = fields["sales_per_s"].flatMap(Double.init), let sold = fields["sold"].flatMap(Int.init),
            let conflicts = fields["conflicts"].flatMap(Int.init)
        else {
            throw SetupFailure("\(name) \(run.termination) and printed: \(run.lastWords)")
        }
        salesPerSecond = rate
        self.sold = sold
        self.conflicts = conflicts
        usage = run.usage
    }
}

/// How a child ended and what it printed.
struct CapturedRun {
    var termination: ChildProcess.Termination
    var stdout: String
    var stderr: String
    /// What the child and the descendants it reaped used.
    var usage: ResourceUsage
    /// From the spawn to the reaping.
    var seconds: Double

    /// The last line of stderr, or else of stdout: what a failure message quotes.
    var lastWords: String {
        let line = stderr.split(separator: "\n").last ?? stdout.split(separator: "\n").last
        return line.map(String.init) ?? "(nothing)"
    }
}

/// The process group of the reference run in progress, or 0: on SIGINT or SIGTERM it is killed with all its forked
/// workers, which would otherwise spin against a stopped server.
let runningReferenceGroup = Atomic<Int32>(0)

/// Runs `executable` to its end in a process group of its own (its forked workers join it), with stdout through a
/// pipe and stderr into a file in `scratch`, and its tree's resource usage from wait4.
///
/// - Throws: `SetupFailure` when it cannot be started.
func capture(_ executable: String, _ arguments: [String], scratch: String) throws(SetupFailure) -> CapturedRun {
    let errorFile = scratch + "/stderr"
    unlink(errorFile)
    let pipe: PipeDescriptors
    do {
        pipe = try PipeDescriptors()
    } catch {
        throw SetupFailure(error.message)
    }
    let clock = ContinuousClock()
    let start = clock.now
    let child: ChildProcess
    do {
        child = try ChildProcess.spawn(
            executable, arguments: arguments, stdout: .descriptor(pipe.writeEnd), stderr: .file(errorFile),
            processGroup: 0)
    } catch {
        close(pipe.readEnd)
        close(pipe.writeEnd)
        throw SetupFailure(error.message)
    }
    runningReferenceGroup.store(child.pid, ordering: .sequentiallyConsistent)
    defer { runningReferenceGroup.store(0, ordering: .sequentiallyConsistent) }
    close(pipe.writeEnd)
    let output = FileHandle(fileDescriptor: pipe.readEnd, closeOnDealloc: true).readDataToEndOfFile()
    let (termination, usage) = child.waitWithUsage()
    return CapturedRun(
        termination: termination, stdout: String(decoding: output, as: UTF8.self), stderr: TextFile.read(errorFile),
        usage: usage, seconds: (clock.now - start) / .seconds(1))
}

/// `c_watch_decr.c` — the watch loop on raw hiredis with fork()ed workers and the fewest round trips — compiled
/// once into the scratch dir. Plain mode is WATCH+GET, then MULTI+DECR+EXEC; backoff mode the same with a full-jitter
/// exponential sleep after each conflict; lua mode is one EVALSHA per sale.
struct CLoopReference {
    let source: String
    let binary: String

    /// Compiles `source` with `cc -O2 -o BINARY SOURCE -lhiredis`.
    ///
    /// - Throws: `SetupFailure` saying why it could not be compiled (the caller skips the reference).
    init(compiling source: String, into scratch: String) throws(SetupFailure) {
        guard let compiler = ChildProcess.which("cc") else {
            throw SetupFailure("no C compiler (cc) in PATH to build \(source); install one with 'apt-get install gcc'")
        }
        let binary = scratch + "/c_watch_decr"
        let compiled = try capture(compiler, ["-O2", "-o", binary, source, "-lhiredis"], scratch: scratch)
        guard compiled.termination == .exited(0) else {
            throw SetupFailure("cc could not compile \(source): \(compiled.lastWords)")
        }
        self.source = source
        self.binary = binary
    }

    /// Sells `stock` units with `workers` forked workers in `mode`.
    ///
    /// - Throws: `SetupFailure` when the run failed or its conservation check did not pass.
    func run(port: Int, stock: Int, workers: Int, mode: CLoopMode, scratch: String) throws(SetupFailure)
        -> ReferenceRun
    {
        let arguments = [String(port), String(stock), String(workers)] + mode.arguments
        let run = try capture(binary, arguments, scratch: scratch)
        return try ReferenceRun(
            run, checkField: "check", name: "the C reference (c_watch_decr \(arguments.joined(separator: " ")))")
    }
}

/// `redis_py_reduce_stock.py` — the redis-py snippet the project grew from, on a `ProcessPoolExecutor`.
struct RedisPyReference {
    let script: String
    let python: String
    /// The version of the `redis` package that `python` imports.
    let packageVersion: String

    /// Checks that `python` runs and has the `redis` package.
    ///
    /// - Throws: `SetupFailure` saying what is missing and how to install it (the caller skips the reference).
    init(script: String, python: String, scratch: String) throws(SetupFailure) {
        guard let executable = ChildProcess.which(python) else {
            throw SetupFailure("\(python) is not installed (not found in PATH); install python3, or pass --python PATH")
        }
        let check = try capture(executable, ["-c", "import redis; print(redis.__version__)"], scratch: scratch)
        guard check.termination == .exited(0) else {
            if check.stderr.contains("No module named 'redis'") {
                throw SetupFailure(
                    "\(python) has no 'redis' package; install it with 'pip install redis' (or run scripts/benchmark.sh, which does)"
                )
            }
            throw SetupFailure("\(python) cannot import redis: \(check.lastWords)")
        }
        self.script = script
        self.python = executable
        packageVersion = check.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Sells `stock` units with a pool of `workers` processes running `workers` tasks.
    ///
    /// - Throws: `SetupFailure` when the run failed or its oversell check did not pass.
    func run(port: Int, stock: Int, workers: Int, scratch: String) throws(SetupFailure) -> ReferenceRun {
        let arguments = [
            script, "--port", String(port), "--stock", String(stock), "--workers", String(workers), "--tasks",
            String(workers),
        ]
        let run = try capture(python, arguments, scratch: scratch)
        return try ReferenceRun(
            run, checkField: "oversell_check",
            name: "the redis-py reference (--stock \(stock) --workers \(workers) --tasks \(workers))")
    }
}
