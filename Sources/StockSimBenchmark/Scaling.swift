import Foundation
import Spawn
import StockSim

/// `--scaling`: how a run's cost grows with the work (issue 13, section 3), and its targets.
struct ScalingReport {
    /// One `lua` run with the ledger that sold `orders` units, one per order.
    struct OrdersRow {
        var orders: Int
        var saleSeconds: Double
        /// The `stocksim run` child's wall time less the sale (`elapsed_seconds`) and the spawn (`spawn_seconds`):
        /// start-up, setting the stock, the audit, the report and exit.
        var setupAndAuditSeconds: Double
        /// wait4's peak RSS of the run's process tree: its largest single process, the driver's unless a worker's was
        /// larger (`workerPeakRSSBytes` says how large the workers got).
        var treePeakRSSBytes: Int
        var workerPeakRSSBytes: Int
        /// INFO memory `used_memory` after the run less before it, ÷ the ledger's orders; `nil` without redis-cli.
        var redisBytesPerLedgerEntry: Double?
    }

    /// One `lua --no-ledger` run with a tiny stock, to time spawning `workers` processes.
    struct WorkersRow {
        var workers: Int
        /// `spawn_seconds`: from the first spawn until every worker had connected.
        var spawnSeconds: Double
        var totalSeconds: Double
        var workerPeakRSSBytes: Int
        var treePeakRSSBytes: Int
    }

    var orders: [OrdersRow]
    var workers: [WorkersRow]
    /// Worker counts not run, with why.
    var skippedWorkers: [(workers: Int, reason: String)] = []

    /// The issue's figures: driver RSS at 5,000,000 orders within 1.2× of 10,000; ≤ 2 s of audit per million
    /// orders; 1,000 workers spawned in ≤ 3 s; workers ≤ 20 MB.
    static let rssGrowthLimit = 1.2
    static let auditSecondsPerMillion = 2.0
    static let spawnWorkers = 1000
    static let spawnSecondsLimit = 3.0
    static let workerRSSLimitBytes = 20_000_000

    var tables: String {
        var text = ""
        var byOrders = TextTable(headers: [
            "orders", "sale s", "set-up + audit s", "per million", "tree peak RSS", "worker peak RSS",
            "Redis bytes/entry",
        ])
        for row in orders {
            byOrders.rows.append([
                grouped(Double(row.orders)), String(format: "%.2f", row.saleSeconds),
                String(format: "%.2f", row.setupAndAuditSeconds),
                String(format: "%.2f", row.setupAndAuditSeconds * 1e6 / Double(row.orders)),
                megabytes(row.treePeakRSSBytes), megabytes(row.workerPeakRSSBytes),
                row.redisBytesPerLedgerEntry.map { String(format: "%.0f", $0) } ?? "—",
            ])
        }
        text +=
            "orders → cost: lua with the ledger, \(NumberText.count(Benchmark.scalingOrderWorkers, "worker")), 1 unit per order."
        text += " set-up + audit = the stocksim child's wall time − elapsed_seconds − spawn_seconds (start-up, the"
        text += " stock, the audit, the report, exit). tree peak RSS = wait4 of the stocksim tree: its largest single"
        text += " process, the driver's unless a worker's was larger (worker peak RSS beside it). Redis bytes/entry ="
        text += " INFO used_memory after − before ÷ orders\n"
        text += byOrders.rendered + "\n\n"

        var byWorkers = TextTable(headers: ["workers", "spawn s", "run s", "worker peak RSS", "tree peak RSS"])
        for row in workers {
            byWorkers.rows.append([
                "\(row.workers)", String(format: "%.2f", row.spawnSeconds), String(format: "%.2f", row.totalSeconds),
                megabytes(row.workerPeakRSSBytes), megabytes(row.treePeakRSSBytes),
            ])
        }
        text += "workers → spawn: lua --no-ledger, 10 units per worker; spawn s = spawn_seconds (first spawn until"
        text += " every worker had connected); run s = the whole stocksim child\n"
        text += byWorkers.rendered + "\n"
        for (count, reason) in skippedWorkers { text += "  \(NumberText.count(count, "worker")): skipped, \(reason)\n" }
        return text
    }

    /// A PASS/FAIL (or SKIP) line per target of section 3, from the rows.
    var targets: [Report.Target] {
        var targets: [Report.Target] = []
        func verdict(_ ok: Bool) -> Report.Target.Status { ok ? .pass : .fail }

        if let first = orders.first, let last = orders.last, last.orders > first.orders, first.treePeakRSSBytes > 0 {
            let growth = Double(last.treePeakRSSBytes) / Double(first.treePeakRSSBytes)
            targets.append(
                .init(
                    status: verdict(growth <= Self.rssGrowthLimit),
                    line:
                        "S1. driver peak RSS (largest process of the stocksim tree) at \(grouped(Double(last.orders))) orders ÷ at \(grouped(Double(first.orders))): \(megabytes(last.treePeakRSSBytes)) / \(megabytes(first.treePeakRSSBytes)) = \(times(growth, digits: 3)); target ≤ \(times(Self.rssGrowthLimit)) (the issue's is at 5,000,000 ÷ 10,000)"
                ))
        } else {
            targets.append(
                .init(status: .skip, line: "S1. driver peak RSS growth: needs two order counts (--scaling-orders)"))
        }

        if let last = orders.last {
            let perMillion = last.setupAndAuditSeconds * 1e6 / Double(last.orders)
            targets.append(
                .init(
                    status: verdict(perMillion <= Self.auditSecondsPerMillion),
                    line:
                        "S2. set-up + audit at \(grouped(Double(last.orders))) orders: \(String(format: "%.2f", last.setupAndAuditSeconds)) s = \(String(format: "%.2f", perMillion)) s per million orders; target ≤ \(String(format: "%.1f", Self.auditSecondsPerMillion)) s per million"
                ))
        } else {
            targets.append(.init(status: .skip, line: "S2. audit seconds per million orders: no order count measured"))
        }

        if let row = workers.first(where: { $0.workers == Self.spawnWorkers }) {
            targets.append(
                .init(
                    status: verdict(row.spawnSeconds <= Self.spawnSecondsLimit),
                    line:
                        "S3. \(grouped(Double(row.workers))) workers spawned and connected: \(String(format: "%.2f", row.spawnSeconds)) s; target ≤ \(String(format: "%.1f", Self.spawnSecondsLimit)) s"
                ))
        } else {
            let largest = workers.last.map {
                "; the largest measured, \(NumberText.count($0.workers, "worker")), took \(String(format: "%.2f", $0.spawnSeconds)) s"
            }
            targets.append(
                .init(
                    status: .skip,
                    line:
                        "S3. \(grouped(Double(Self.spawnWorkers))) workers spawned and connected: not measured (add \(Self.spawnWorkers) to --scaling-workers)\(largest ?? "")"
                ))
        }

        let peaks =
            orders.map { ($0.workerPeakRSSBytes, "\(grouped(Double($0.orders))) orders") }
            + workers.map { ($0.workerPeakRSSBytes, NumberText.count($0.workers, "worker")) }
        if let peak = peaks.max(by: { $0.0 < $1.0 }) {
            targets.append(
                .init(
                    status: verdict(peak.0 <= Self.workerRSSLimitBytes),
                    line:
                        "S4. worker peak RSS, the largest of every scaling run: \(megabytes(peak.0)) (at \(peak.1)); target ≤ \(megabytes(Self.workerRSSLimitBytes))"
                ))
        } else {
            targets.append(.init(status: .skip, line: "S4. worker peak RSS: no run measured"))
        }
        return targets
    }
}

/// 17_300_000 → "17.3 MB".
func megabytes(_ bytes: Int) -> String {
    String(format: "%.1f MB", Double(bytes) / 1e6)
}

extension Benchmark {
    /// The workers of the orders runs: enough to keep Redis busy on 2 cores, few enough that scheduling stays
    /// out of the figures.
    static let scalingOrderWorkers = 4

    /// Raises the open-files limit to its hard limit, so that this process and the redis-server it starts (which
    /// inherits it) can hold a pipe pair and a connection per worker. Returns the limits in force.
    static func raiseDescriptorLimit() -> (files: Int, processes: Int?) {
        var files = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
        if files.rlim_cur < files.rlim_max {
            var raised = files
            raised.rlim_cur = files.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { files = raised }
        }
        var processes = rlimit()  // RLIM_INFINITY is all ones, which Swift imports as an overflowing literal
        getrlimit(Int32(__RLIMIT_NPROC.rawValue), &processes)
        let processLimit = processes.rlim_cur == rlim_t.max ? nil : Int(clamping: processes.rlim_cur)
        return (Int(clamping: files.rlim_cur), processLimit)
    }

    /// Why `workers` cannot run under these limits, or `nil`: the driver holds two pipe ends per worker, redis a
    /// connection per worker (it keeps 32 descriptors for itself), and every worker is a process of this user.
    static func limitProblem(workers: Int, files: Int, processes: Int?) -> String? {
        if workers * 2 + 64 > files {
            return
                "the open-files limit (ulimit -n) is \(files) and the driver needs about \(workers * 2 + 64); raise it with ulimit -n"
        }
        if let processes, workers + 64 > processes {
            return "the process limit (ulimit -u) is \(processes); too few for \(NumberText.count(workers, "worker"))"
        }
        return nil
    }

    /// `redis-cli -p PORT INFO memory`'s `used_memory`, or `nil` without redis-cli.
    static func usedMemory(port: Int, scratch: String) -> Int? {
        guard let cli = ChildProcess.which("redis-cli"),
            let info = try? capture(cli, ["-p", String(port), "INFO", "memory"], scratch: scratch),
            info.termination == .exited(0)
        else { return nil }
        return info.stdout.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
            .flatMap { Int($0.dropFirst("used_memory:".count).trimmingCharacters(in: .whitespaces)) }
    }

    /// Empties the private server between scaling runs, so that each run's Redis memory is its own.
    static func flush(port: Int, scratch: String) {
        guard let cli = ChildProcess.which("redis-cli") else { return }
        _ = try? capture(cli, ["-p", String(port), "FLUSHALL"], scratch: scratch)
    }

    /// Runs the scaling measurements and prints their tables and targets.
    func runScaling(
        stocksim: String, url: String, port: Int, scratch: String, limits: (files: Int, processes: Int?)
    ) throws(SetupFailure) -> ScalingReport {
        let hasCLI = ChildProcess.which("redis-cli") != nil
        print(
            "scaling: orders \(options.scalingOrders.map { grouped(Double($0)) }.joined(separator: ", ")); workers "
                + options.scalingWorkers.map(String.init).joined(separator: ", ")
                + "; open-files limit \(limits.files), process limit \(limits.processes.map(String.init) ?? "unlimited")"
                + (hasCLI ? "" : "; no redis-cli in PATH, so no Redis memory figures (apt-get install redis-tools)"))
        print("")
        fflush(nil)
        var report = ScalingReport(orders: [], workers: [])
        for orders in options.scalingOrders {
            Self.flush(port: port, scratch: scratch)
            let before = Self.usedMemory(port: port, scratch: scratch)
            let run = try StockSimRun(
                stocksim: stocksim, url: url, strategy: .lua, ledger: true, stock: orders,
                workers: Self.scalingOrderWorkers, scratch: scratch)
            let after = Self.usedMemory(port: port, scratch: scratch)
            let perEntry: Double? =
                if let before, let after, run.report.orders > 0 {
                    Double(after - before) / Double(run.report.orders)
                } else { nil }
            report.orders.append(
                .init(
                    orders: orders, saleSeconds: run.report.elapsedSeconds,
                    setupAndAuditSeconds: run.seconds - run.report.elapsedSeconds - run.report.spawnSeconds,
                    treePeakRSSBytes: run.usage.maxResidentBytes, workerPeakRSSBytes: run.report.workerPeakRssBytes,
                    redisBytesPerLedgerEntry: perEntry))
            FileHandle.standardError.write(
                Data("scaling: \(grouped(Double(orders))) orders in \(String(format: "%.1f", run.seconds)) s\n".utf8))
        }
        Self.flush(port: port, scratch: scratch)
        for workers in options.scalingWorkers {
            if let problem = Self.limitProblem(workers: workers, files: limits.files, processes: limits.processes) {
                report.skippedWorkers.append((workers, problem))
                continue
            }
            let run = try StockSimRun(
                stocksim: stocksim, url: url, strategy: .lua, ledger: false, stock: workers * 10, workers: workers,
                scratch: scratch)
            report.workers.append(
                .init(
                    workers: workers, spawnSeconds: run.report.spawnSeconds, totalSeconds: run.seconds,
                    workerPeakRSSBytes: run.report.workerPeakRssBytes, treePeakRSSBytes: run.usage.maxResidentBytes))
            FileHandle.standardError.write(
                Data(
                    "scaling: \(NumberText.count(workers, "worker")) in \(String(format: "%.1f", run.seconds)) s\n".utf8
                ))
        }
        return report
    }
}
