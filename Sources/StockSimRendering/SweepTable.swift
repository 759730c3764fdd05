import Foundation
public import StockSim

/// The table printed at the end of a sweep (`stocksim sweep`).
public struct SweepTable: Sendable {
    public var result: SweepResult

    /// - Parameter result: the sweep to show.
    public init(_ result: SweepResult) { self.result = result }

    /// The table printed at the end of a sweep: a row per point, a note on reading Redis's CPU, the recommendations
    /// and the audit verdict.
    public func text() -> String {
        let p = result.parameters
        let server = result.target
        let masterCounts = p.clusterMasters ?? []
        let rates = p.rates ?? []
        let total =
            p.strategies.count * p.workerCounts.count * p.repeats * max(1, masterCounts.count) * max(1, rates.count)
        let workers = p.workerCounts.map(String.init).joined(separator: ", ")
        let open =
            rates.isEmpty
            ? ""
            : " at \(rates.map(SweepRateFinding.rateText).joined(separator: ", ")) orders/s (\(p.arrival?.rawValue ?? "constant"))"
        var lines = [
            "StockSim sweep: \(p.strategies.map(\.rawValue).joined(separator: ", ")) at \(workers) worker\(p.workerCounts == [1] ? "" : "s")\(open), "
                + "\(NumberText.count(p.repeats, "repeat")) (\(result.runCount) of \(NumberText.count(total, "run"))), \(NumberText.count(p.stock, "unit")) per run, "
                + "key \(p.key), \(server), \(String(format: "%.1f", result.elapsedSeconds)) s",
            "",
        ]
        // Units and orders per second differ when an order takes more than one unit: then both are shown.
        let showsOrders = result.points.contains {
            guard let figures = $0.aggregate, let orders = figures.ordersPerSecond else { return false }
            return orders.median != figures.salesPerSecond.median
        }
        // A comparison of master counts has a column for them, after the strategy.
        let showsMasters = masterCounts.count > 1
        // A comparison of rates has the rate after the workers, and the open loop's figures after the p99 latency.
        let showsRates = !rates.isEmpty
        let target = p.p99TargetUs
        func shaped(_ row: [String], orders: String, rate: String, open: [String], masters: String) -> [String] {
            var row = row
            if showsRates {
                row.insert(contentsOf: target == nil ? Array(open.prefix(2)) : open, at: 6)
                row.insert(rate, at: 2)
            }
            if showsOrders { row.insert(orders, at: showsRates ? 5 : 4) }
            if showsMasters { row.insert(masters, at: 1) }
            return row
        }
        let header = shaped(
            [
                "strategy", "workers", "units/s", "min–max", "conflicts", "p99 latency", "p99 retries", "redis cpu",
                "audits", "",
            ], orders: "orders/s", rate: "rate", open: ["placed/s", "p99 corrected", "target"], masters: "masters")
        var rows: [[String]] = []
        for point in result.points {
            let audits = point.auditsPassed ? "passed" : "FAILED \(point.auditFailures)/\(point.runs.count)"
            var markers = result.isRecommended(point) ? ["recommended"] : []
            let finding = result.rateFinding(for: point.strategy, workers: point.workers, masters: point.masters)
            if let highest = finding?.highestRate, highest == point.rate { markers.append("highest rate under target") }
            let marker = markers.isEmpty ? "" : "← " + markers.joined(separator: ", ")
            let rate = point.rate.map { SweepRateFinding.rateText($0) + "/s" } ?? ""
            let masters = point.masters.map(String.init) ?? ""
            guard let figures = point.aggregate else {
                rows.append(
                    shaped(
                        [
                            point.strategy.rawValue, "\(point.workers)", "–", "incomplete", "", "", "", "", audits,
                            marker,
                        ],
                        orders: "", rate: rate, open: ["", "", ""], masters: masters))
                continue
            }
            let spread = figures.salesPerSecond
            let corrected = figures.correctedLatencyP99Us
            let meets = SweepRateFinding.meets(point, p99TargetUs: target).map { $0 ? "met" : "missed" } ?? ""
            rows.append(
                shaped(
                    [
                        point.strategy.rawValue, "\(point.workers)", NumberText.rate(spread.median),
                        "\(NumberText.rate(spread.min))–\(NumberText.rate(spread.max))",
                        NumberText.percent(figures.conflictRate, digits: 1),
                        NumberText.micros(figures.latencyP99Us), NumberText.plain(figures.retriesPerSaleP99),
                        figures.redisCpuPercent.map { String(format: "%.0f%%", $0) } ?? "?", audits, marker,
                    ], orders: figures.ordersPerSecond.map { NumberText.rate($0.median) } ?? "?", rate: rate,
                    open: [
                        figures.achievedRate.map(NumberText.rate) ?? "?", corrected.map(NumberText.micros) ?? "?",
                        meets,
                    ], masters: masters))
        }
        let leftAligned = Set(header.indices.filter { ["strategy", "audits", "", "target"].contains(header[$0]) })
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            let cells = row.indices.map { column in
                let pad = String(repeating: " ", count: widths[column] - row[column].count)
                return leftAligned.contains(column) ? row[column] + pad : pad + row[column]
            }
            lines.append(cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
        lines.append("")
        lines.append(
            "units/s is units sold per second (an order of 3 counts 3), the median over the repeats, min–max the slowest"
        )
        lines.append(
            "and fastest run\(showsOrders ? "; orders/s the median orders per second" : ""); redis cpu is the server's CPU"
        )
        lines.append(
            "time over the run's time, as a share of one core: near 100% the single-threaded server is the bottleneck,")
        lines.append(
            "well below it the clients are."
                + (masterCounts.isEmpty
                    ? "" : " On a cluster it is the busiest master's share (from each run's masters[])."))
        if showsRates {
            lines.append(
                "rate is the open loop's schedule, placed/s the orders sent per second; p99 latency is timed from each")
            lines.append(
                "order's first attempt (Redis's service time), p99 corrected from when it was due (what a buyer on the")
            lines.append("schedule waited, queueing behind a slow Redis included).")
        }
        lines.append("")
        lines.append(
            "recommended (the smallest worker count within \(NumberText.percent(p.tolerance)) of the best median):")
        for strategy in p.strategies {
            for masters in masterCounts.isEmpty ? [nil] : masterCounts.map(Optional.some) {
                let on = masters.map { " on \(NumberText.count($0, "master"))" } ?? ""
                if let recommendation = result.recommendation(for: strategy, masters: masters) {
                    lines.append("  \(recommendation)")
                } else if result.points.contains(where: {
                    $0.strategy == strategy && $0.masters == masters && $0.aggregate != nil
                }) {
                    lines.append("  \(strategy)\(on): none (every point failed its audit)")
                } else {
                    lines.append("  \(strategy)\(on): none (no run completed)")
                }
            }
        }
        if let target {
            lines.append("")
            lines.append(
                "highest rate whose corrected p99 meets \(NumberText.micros(target)) (per strategy and worker count):")
            for strategy in p.strategies {
                for masters in masterCounts.isEmpty ? [nil] : masterCounts.map(Optional.some) {
                    for workers in p.workerCounts {
                        if let finding = result.rateFinding(for: strategy, workers: workers, masters: masters) {
                            lines.append("  \(finding)")
                        } else if result.points.contains(where: {
                            $0.strategy == strategy && $0.workers == workers && $0.masters == masters
                        }) {
                            let on = masters.map { " on \(NumberText.count($0, "master"))" } ?? ""
                            lines.append(
                                "  \(strategy) at \(NumberText.count(workers, "worker"))\(on): none (no run completed)")
                        }
                    }
                }
            }
        }
        let failed = result.points.filter { !$0.auditsPassed }
        if failed.isEmpty {
            lines.append("audit: PASSED in every run")
        } else {
            let failures = failed.reduce(0) { $0 + $1.auditFailures }
            let places = failed.map(\.place).joined(separator: ", ")
            lines.append("audit: FAILED in \(failures) of \(NumberText.count(result.runCount, "run")) (\(places))")
        }
        if result.interrupted { lines.append("interrupted: stopped by a signal; the figures cover the runs before it") }
        if let incompleteReason = result.incompleteReason { lines.append("incomplete: \(incompleteReason)") }
        return lines.joined(separator: "\n")
    }
}
