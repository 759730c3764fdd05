import Foundation
public import StockSim

/// The readable summary printed at the end of a run (`stocksim run` without `--json`).
public enum RunSummary {
    /// The summary, one line per figure.
    public static func text(_ report: SimulationReport) -> String {
        var lines: [String] = []
        let server =
            report.embedded
            ? "embedded \(report.masters == nil ? "redis-server" : "Redis Cluster") \(report.redis)" : report.redis
        lines.append(
            "StockSim run \(report.runId): \(report.strategy), \(NumberText.count(report.workers, "worker")), key \(report.key), \(server)"
        )
        if let note = report.clusterNote { lines.append(row("cluster", note)) }
        for master in report.masters ?? [] {
            let cpu = master.redisCpuSeconds.map { ", Redis CPU \(NumberText.seconds($0))" } ?? ""
            lines.append(
                row(
                    "  master",
                    "\(master.address): groups \(master.groups.map(String.init).joined(separator: ",")), \(NumberText.count(master.sold, "unit")) sold\(cpu)"
                ))
        }
        lines += HostLines.lines(report, row: row)
        if let unreachable = report.unreachableGroups {
            lines.append(
                row(
                    "unreachable",
                    "\(unreachable.count == 1 ? "group" : "groups") \(unreachable.map(String.init).joined(separator: ", ")) (master down): not read back, not audited"
                ))
        }
        if report.redirects > 0 {
            lines.append(
                row(
                    "redirects",
                    "\(NumberText.count(report.redirects, "order")) turned away by the cluster and placed again"))
        }
        if let skus = report.skus {
            lines.append(
                row(
                    "catalog",
                    "\(NumberText.count(report.skuCount, "SKU")) in \(NumberText.count(report.groups, "group")), \(report.cartSize) per order, demand \(report.skew)"
                ))
            let sold = skus.map(\.sold).sorted()
            lines.append(
                row(
                    "per SKU sold",
                    "min \(sold.first ?? 0), median \(sold.isEmpty ? 0 : sold[sold.count / 2]), max \(NumberText.count(sold.last ?? 0, "unit"))"
                ))
        }
        let remaining =
            report.stock.final.map { "\($0) remaining" }
            ?? (report.audit.checked == "not-performed" ? "stock not read back" : "stock key gone")
        lines.append(
            row(
                "sold",
                "\(report.sold) of \(NumberText.count(report.stock.initial, "unit")) (\(remaining)) in \(NumberText.count(report.orders, "order")); \(report.rejectedOrders) refused as out of stock, \(report.gaveUpOrders) given up"
            ))
        lines.append(
            row(
                "throughput",
                "\(NumberText.grouped(report.unitsPerSecond)) units/s, \(NumberText.grouped(report.ordersPerSecond)) orders/s over \(NumberText.seconds(report.elapsedSeconds))"
            ))
        lines.append(
            row(
                "attempts",
                "\(report.attempts), conflicts \(report.conflicts) (\(NumberText.percent(report.conflictRate, digits: 1)))"
            ))
        if report.unknownOutcomes > 0 || report.reconnects > 0 {
            lines.append(
                row(
                    "faults seen",
                    "\(NumberText.count(report.reconnects, "reconnect")), \(NumberText.count(report.unknownOutcomes, "unknown outcome")): \(report.recoveredOutcomes) found committed in the ledger, \(report.unresolvedOrders) unresolved (\(NumberText.count(report.unresolvedUnits, "unit")))"
                ))
        }
        for fault in report.faults { lines.append(row("  injected", fault.description)) }
        if report.faultsNotInjected > 0 {
            lines.append(
                row(
                    "  not injected",
                    "\(NumberText.count(report.faultsNotInjected, "planned fault")): the sale ended before their point, or no live worker was left to kill"
                ))
        }
        let r = report.retriesPerSale
        lines.append(row("retries/sale", "p50 \(r.p50), p99 \(r.p99), max \(r.max)"))
        let l = report.latencyUs
        lines.append(
            row(
                "latency/sale",
                "p50 \(NumberText.micros(Double(l.p50))), p90 \(NumberText.micros(Double(l.p90))), p99 \(NumberText.micros(Double(l.p99))), p99.9 \(NumberText.micros(Double(l.p999))), max \(NumberText.micros(Double(l.max)))"
            ))
        if let open = report.openLoop {
            let c = open.latencyUsCorrected
            lines.append(
                row(
                    "open loop",
                    "\(open.arrival.rawValue) at \(NumberText.rate(open.targetRate))/s asked, \(NumberText.rate(open.achievedRate))/s placed; behind schedule at most \(NumberText.micros(open.maxBehindMs * 1_000)), at the end \(NumberText.micros(open.finalBehindMs * 1_000))"
                ))
            lines.append(
                row(
                    "corrected",
                    "from the due time: p50 \(NumberText.micros(Double(c.p50))), p90 \(NumberText.micros(Double(c.p90))), p99 \(NumberText.micros(Double(c.p99))), p99.9 \(NumberText.micros(Double(c.p999))), max \(NumberText.micros(Double(c.max)))"
                ))
        }
        let w = report.perWorkerSold
        lines.append(row("per worker", "min \(w.min), median \(w.median), max \(NumberText.count(w.max, "unit"))"))
        lines.append(
            row(
                "workers",
                "spawned and connected in \(NumberText.seconds(report.spawnSeconds)), peak RSS of a worker \(NumberText.megabytes(report.workerPeakRssBytes))"
            ))
        for failure in report.workerFailures {
            lines.append(
                row(
                    "worker \(failure.worker)",
                    "pid \(failure.pid) \(failure.termination)" + (failure.error.map { ": \($0)" } ?? "")))
        }
        lines.append(row("ended", EndReasonText.text(report)))
        if let reason = report.incompleteReason { lines.append(row("incomplete", reason)) }
        if report.interrupted { lines.append(row("interrupted", "stopped by a signal; figures cover the partial run")) }
        let keys = report.ledgerKeys ?? [report.ledgerKey]
        let ledgers =
            keys.count > 1
            ? "\(keys.count) ledgers \(keys[0]) … \(keys[keys.count - 1])" : "ledger \(report.ledgerKey)"
        let checked = report.audit.checked == "ledger" ? ledgers : "acknowledged sales only"
        let verdict =
            report.audit.checked == "not-performed"
            ? "NOT PERFORMED" : report.audit.passed ? "PASSED" : "FAILED"
        lines.append(
            row(
                "audit",
                verdict
                    + " (checked \(checked), acknowledged \(NumberText.count(report.acknowledged, "unit")))"))
        for violation in report.audit.violations { lines.append(row("  violation", violation.description)) }
        for note in report.audit.notes { lines.append(row("  note", note)) }
        return lines.joined(separator: "\n")
    }

    private static func row(_ label: String, _ value: String) -> String {
        "  " + label.padding(toLength: 14, withPad: " ", startingAt: 0) + value
    }
}
