import Dispatch
import EmbeddedRedis
import Foundation
import Spawn
import StockSim
import Synchronization

/// One invocation: a private redis-server, the references found, and every run, round by round.
struct Benchmark {
    let options: Options

    /// What each worker count runs in one round. StockSim and the references alternate, so that whatever the
    /// machine does during a round hits the things a ratio compares alike.
    static let contenders: [Contender] = [
        Report.watch, .cLoop(.plain), Report.watchNoLedger, .cLoop(.backoff), Report.watchAhead, .redisPy, Report.lua,
        .cLoop(.lua), Report.luaNoLedger,
    ]

    /// The redis-py snippet sells the full stock up to 10 workers (target 2 compares there) and a tenth of it
    /// beyond: its plain retry loop slows to well under 1k sales/s at many workers, so the full stock would take
    /// minutes per run. It is compared as a rate.
    static func redisPyStock(stock: Int, workers: Int) -> Int {
        workers <= 10 ? stock : max(1, stock / 10)
    }

    /// One EVALSHA per sale runs about five times as fast as WATCH/MULTI/EXEC, so at the default stock a lua run at
    /// 10 workers would last a quarter of a second, and start-up and the scheduler's noise would decide its ratio. The
    /// lua runs (StockSim's and the C loop's alike) sell the stock times the worker count, up to five times it, which
    /// keeps each near a second or more.
    static func scriptedStock(stock: Int, workers: Int) -> Int {
        stock * min(workers, 5)
    }

    /// The package root, from this file's path: `Sources/StockSimBenchmark/Benchmark.swift`.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs everything and prints the tables and the targets.
    ///
    /// - Throws: `SetupFailure` when the benchmark cannot run, or a run it measured failed.
    func run() throws(SetupFailure) {
        let clock = ContinuousClock()
        let start = clock.now
        let stocksim = try locateStocksim()
        let referenceDirectory = try locateReferences()
        let scratch = try makeScratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // Before the server starts: it inherits the limit, and needs a descriptor per worker.
        let limits = options.runsScaling ? Self.raiseDescriptorLimit() : (files: 0, processes: nil)
        // The server inherits this thread's CPUs when it starts; everything started after it, the contenders' CPUs.
        let cpus = try options.placement.cpus(allowed: CPUAffinity.allowed())
        if let cpus { try Placement.runOn(cpus.server) }
        let server: RedisServer
        do {
            server = try RedisServer()
        } catch {
            throw SetupFailure("cannot start redis-server: \(error.message)")
        }
        defer { server.stop() }
        if let cpus { try Placement.runOn(cpus.contenders) }
        let signalSources = Self.stopOnSignal(server: server, scratch: scratch)
        defer { for source in signalSources { source.cancel() } }
        // After the handlers, so that a signal from here on writes the window back.
        let haltPollFound = try options.haltPoll.map { nanoseconds throws(SetupFailure) in
            try HaltPolling.setForRun(nanoseconds)
        }
        defer { HaltPolling.restore() }
        let machine =
            Placement.describe(cpus, options.placement) + "\n"
            + HaltPolling.describe(window: HaltPolling.window(), found: haltPollFound, driver: HaltPolling.driver)
        guard let port = server.port else { throw SetupFailure("the embedded redis-server has no TCP port") }

        if options.scaling {
            print("stocksim-benchmark --scaling: how a run's cost grows with orders and with workers")
            print("redis: one private redis-server on 127.0.0.1:\(port), no persistence, flushed before each run")
            print(machine)
            print("StockSim: \(stocksim) run --json; each run's process tree measured with wait4")
            let scaling = try runScaling(
                stocksim: stocksim, url: server.url, port: port, scratch: scratch, limits: limits)
            print(scaling.tables)
            print("targets (issue 13, section 3; from the runs above):")
            printTargets(scaling.targets, since: start)
            return
        }

        if options.witnessCost {
            let workers = options.workersGiven ? options.workers : WitnessCost.defaultWorkers
            print(
                "stocksim-benchmark --witness-cost: watch and lua with the per-sale witness and with --no-witness, "
                    + "alternating in every round; \(NumberText.count(options.repeats, "round")), "
                    + "each figure the median of the rounds")
            print("redis: one private redis-server on 127.0.0.1:\(port), no persistence, for every run below")
            print(machine)
            print("StockSim: \(stocksim) run --json; each run's process tree measured with wait4")
            print("")
            fflush(nil)
            let cost = try WitnessCost.measure(
                stocksim: stocksim, url: server.url, stock: options.stock, workers: workers,
                repeats: options.repeats, scratch: scratch, since: start)
            print(cost.table)
            fflush(nil)
            let instructions = try WitnessInstructions.measure(
                stocksim: stocksim, url: server.url, units: options.callgrindUnits, scratch: scratch)
            print(instructions.table)
            print("targets (from the runs above):")
            printTargets(cost.targets + instructions.targets, since: start)
            return
        }

        let workers = options.measuredWorkers
        let added = Options.requiredWorkers.filter { !options.workers.contains($0) }
        let redisVersion =
            (try? capture("redis-server", ["--version"], scratch: scratch))?.stdout.split(separator: " ")
            .first(where: { $0.hasPrefix("v=") }).map { "redis-server \($0.dropFirst(2))" } ?? "redis-server"
        print(
            "stocksim-benchmark: stock \(grouped(Double(options.stock))) units per run; workers "
                + workers.map(String.init).joined(separator: ", ")
                + (added.isEmpty
                    ? "" : " (\(added.map(String.init).joined(separator: " and ")) added: the targets use them)")
                + "; \(NumberText.count(options.repeats, "round")), each figure the median of the rounds"
                + (options.settle > .zero
                    ? "; each run after a \(String(format: "%g", options.settle / .seconds(1))) s pause (--settle)"
                    : ""))
        print("redis: one private \(redisVersion) on 127.0.0.1:\(port), no persistence, for every run below")
        print(machine)
        print(
            "StockSim: \(stocksim) run --json, its defaults (tracking backoff; a watch run of one worker watches ahead:"
                + " one round trip a sale, where the C loop makes two), 1 unit per order; each run's process tree"
                + " measured with wait4")
        let (cLoop, redisPy) = findReferences(in: referenceDirectory, scratch: scratch)
        print("")
        fflush(nil)  // the header before the progress lines on stderr

        var measurements = Measurements()
        for round in 1...options.repeats {
            for count in workers {
                var contenders = Self.contenders.filter { contender in
                    switch contender {
                    case .stocksim: true
                    case .cLoop: cLoop != nil
                    case .redisPy: redisPy != nil
                    }
                }
                // Alternate the order too, so that neither side always runs first.
                if round.isMultiple(of: 2) { contenders.reverse() }
                var progress: [String] = []
                for contender in contenders {
                    Thread.sleep(forTimeInterval: options.settle / .seconds(1))
                    let sample: Sample
                    switch contender {
                    case .stocksim(let strategy, let ledger, let watchAhead):
                        let run = try StockSimRun(
                            stocksim: stocksim, url: server.url, strategy: strategy, ledger: ledger,
                            watchAhead: watchAhead,
                            stock: stock(for: contender, workers: count), workers: count, scratch: scratch)
                        sample = Sample(
                            salesPerSecond: run.report.salesPerSecond, conflictRate: run.report.conflictRate,
                            sold: Int(run.report.sold), workers: count, usage: run.usage,
                            shares: WorkerShares(
                                least: run.report.perWorkerSold.min, most: run.report.perWorkerSold.max,
                                sold: Int(run.report.sold), workers: count))
                    case .cLoop(let mode):
                        guard let cLoop else { continue }
                        let run = try cLoop.run(
                            port: port, stock: stock(for: contender, workers: count), workers: count, mode: mode,
                            scratch: scratch)
                        sample = Sample(
                            salesPerSecond: run.salesPerSecond, conflictRate: nil, sold: run.sold, workers: count,
                            usage: run.usage)
                    case .redisPy:
                        guard let redisPy else { continue }
                        let run = try redisPy.run(
                            port: port, stock: stock(for: contender, workers: count), workers: count, scratch: scratch)
                        sample = Sample(
                            salesPerSecond: run.salesPerSecond, conflictRate: nil, sold: run.sold, workers: count,
                            usage: run.usage)
                    }
                    measurements.record(sample, for: contender, workers: count)
                    progress.append("\(contender) \(grouped(sample.salesPerSecond))")
                }
                let elapsed = Int((clock.now - start) / .seconds(1))
                FileHandle.standardError.write(
                    Data(
                        "round \(round)/\(options.repeats), \(NumberText.count(count, "worker")): \(progress.joined(separator: ", ")) sales/s  [\(elapsed / 60)m\(String(format: "%02d", elapsed % 60))s]\n"
                            .utf8))
            }
        }

        let report = Report(
            measurements: measurements, workers: workers, hasCLoop: cLoop != nil, hasRedisPy: redisPy != nil,
            stock: options.stock,
            redisPyReducedStock: redisPy == nil
                ? [:]
                : Dictionary(
                    uniqueKeysWithValues: workers.compactMap { count in
                        let stock = Self.redisPyStock(stock: options.stock, workers: count)
                        return stock == options.stock ? nil : (count, stock)
                    }))
        print("sales per second; ratio = StockSim's median ÷ the other's median, both measured in the same rounds")
        print("")
        print(report.tables)
        var targets = report.targets
        if options.runsScaling {
            // After the rounds, on the same server: its ledger entries would otherwise be counted as theirs.
            print("how a run's cost grows with orders and with workers (issue 13, section 3): the same redis-server,")
            print("flushed before each run; --no-scaling leaves this out")
            fflush(nil)
            let scaling = try runScaling(
                stocksim: stocksim, url: server.url, port: port, scratch: scratch, limits: limits)
            print(scaling.tables)
            targets += scaling.targets
        }
        print("targets (each from runs of this invocation against this redis-server):")
        printTargets(targets, since: start)
    }

    /// A line per target, then the tally and how long the benchmark took.
    func printTargets(_ targets: [Report.Target], since start: ContinuousClock.Instant) {
        let clock = ContinuousClock()
        for target in targets { print("  \(target.status.rawValue)  \(target.line)") }
        let passed = targets.filter { $0.status == .pass }.count
        let failed = targets.filter { $0.status == .fail }.count
        let skipped = targets.filter { $0.status == .skip }.count
        let unresolved = targets.filter(\.unresolved).count
        let seconds = Int((clock.now - start) / .seconds(1))
        print(
            "\(passed) passed, \(failed) failed, \(skipped) skipped"
                + (unresolved > 0 ? " (\(unresolved) of them unresolved: rounds on both sides of the target)" : "")
                + "; measured in \(seconds / 60)m\(String(format: "%02d", seconds % 60))s")
    }

    /// The units `contender` sells per run at `workers` workers: the stock, or for the scripted (lua) runs, more.
    func stock(for contender: Contender, workers: Int) -> Int {
        switch contender {
        case .stocksim(.lua, _, _), .cLoop(.lua): Self.scriptedStock(stock: options.stock, workers: workers)
        case .redisPy: Self.redisPyStock(stock: options.stock, workers: workers)
        default: options.stock
        }
    }

    /// `--stocksim`, or the `stocksim` binary beside this program.
    func locateStocksim() throws(SetupFailure) -> String {
        let path =
            options.stocksim
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("stocksim").path
        guard access(path, X_OK) == 0 else {
            throw SetupFailure(
                "no stocksim binary at \(path); build it with 'swift build -c release --product stocksim', or pass --stocksim PATH"
            )
        }
        return path
    }

    /// `--reference-dir`, or `../shared/reference` beside the package root; `nil` when that default is absent.
    ///
    /// - Throws: `SetupFailure` when `--reference-dir` names no directory or `--python` no program.
    func locateReferences() throws(SetupFailure) -> String? {
        if let python = options.python, ChildProcess.which(python) == nil {
            throw SetupFailure("--python \(python) is not an executable (nor a program in PATH)")
        }
        if let given = options.referenceDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: given, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SetupFailure("--reference-dir \(given) is not a directory")
            }
            return given
        }
        let directory = Self.defaultReferenceDirectory
        return FileManager.default.fileExists(atPath: directory) ? directory : nil
    }

    static var defaultReferenceDirectory: String {
        packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference").path
    }

    /// Compiles and checks the references in `directory`, and prints what it found. A reference that is absent or
    /// cannot run here is skipped with a line that says why.
    func findReferences(in directory: String?, scratch: String) -> (CLoopReference?, RedisPyReference?) {
        guard let directory else {
            print(
                "references: \(Self.defaultReferenceDirectory) is absent, so there is nothing to compare with: printing StockSim's own figures only (pass --reference-dir PATH)"
            )
            return (nil, nil)
        }

        var cLoop: CLoopReference?
        let source = directory + "/c_watch_decr.c"
        if FileManager.default.fileExists(atPath: source) {
            do {
                let compiled = try CLoopReference(compiling: source, into: scratch)
                cLoop = compiled
                print(
                    "C reference: \(source), compiled with cc -O2 -lhiredis; plain, backoff and lua modes, same stock and workers"
                )
            } catch {
                print("C reference: skipped, \(error.message)")
            }
        } else {
            print("C reference: skipped, \(source) is absent")
        }

        var redisPy: RedisPyReference?
        let script = directory + "/redis_py_reduce_stock.py"
        if FileManager.default.fileExists(atPath: script) {
            let python = options.python ?? "python3"
            do {
                let found = try RedisPyReference(script: script, python: python, scratch: scratch)
                redisPy = found
                print(
                    "redis-py reference: \(script) with \(found.python) (redis \(found.packageVersion)), --workers W --tasks W"
                )
            } catch {
                print("redis-py reference: skipped, \(error.message)")
            }
        } else {
            print("redis-py reference: skipped, \(script) is absent")
        }
        return (cLoop, redisPy)
    }

    /// A private temp dir for the compiled C reference and the children's stderr.
    func makeScratchDirectory() throws(SetupFailure) -> String {
        var template = Array("\(NSTemporaryDirectory())/stocksim-benchmark-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SetupFailure("cannot create a temp dir: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    /// The signal that is stopping the benchmark, or 0. Set first by the handler, so that the failure the main thread
    /// sees next (its reference killed, its server gone) is not reported as one.
    static let stopSignal = Atomic<Int32>(0)

    /// On SIGINT or SIGTERM: kill the reference run in progress, stop the redis-server, remove the scratch dir, exit
    /// 128 + signal. The workers of a StockSim run see their stdin close when this process ends, and exit.
    static func stopOnSignal(server: RedisServer, scratch: String) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                Self.stopSignal.store(number, ordering: .sequentiallyConsistent)
                let group = runningReferenceGroup.load(ordering: .sequentiallyConsistent)
                if group > 0 { kill(-group, SIGKILL) }
                server.stop()
                HaltPolling.restore()
                try? FileManager.default.removeItem(atPath: scratch)
                let name = number == SIGINT ? "SIGINT" : "SIGTERM"
                FileHandle.standardError.write(
                    Data("stocksim-benchmark: stopped by \(name) before the end; the redis-server was stopped\n".utf8))
                exit(128 + number)
            }
            source.resume()
            return source
        }
    }
}
