import Foundation
public import StockSim

/// A sweep as CSV: a header and one row per strategy and worker count (`stocksim sweep --csv`).
public struct SweepCSV: Sendable {
    public var result: SweepResult

    /// - Parameter result: the sweep to write.
    public init(_ result: SweepResult) { self.result = result }

    /// The columns, in order. `sales_per_second_*` count units (an order of 3 counts 3), as `units_per_second_median`
    /// does; `orders_per_second_median` counts orders; `masters` is the embedded cluster's master count when the sweep
    /// compares them (`--cluster-masters 1,2,3`), empty otherwise. Columns are added at the end, never renamed.
    public static let header = [
        "strategy", "workers", "runs", "sales_per_second_median", "sales_per_second_min", "sales_per_second_max",
        "conflict_rate", "latency_p99_us", "retries_per_sale_p99", "redis_cpu_percent", "audits_passed",
        "recommended", "units_per_second_median", "orders_per_second_median", "masters",
    ]

    /// A header and one row per point; a point none of whose runs completed has empty figures.
    public func text() -> String {
        var lines = [Self.header.joined(separator: ",")]
        for point in result.points {
            let recommended =
                result.recommendation(for: point.strategy, masters: point.masters)?.workers == point.workers
            var fields = [point.strategy.rawValue, "\(point.workers)"]
            if let figures = point.aggregate {
                fields += [
                    "\(figures.runs)", String(format: "%.1f", figures.salesPerSecond.median),
                    String(format: "%.1f", figures.salesPerSecond.min),
                    String(format: "%.1f", figures.salesPerSecond.max),
                    String(format: "%.4f", figures.conflictRate), String(format: "%.0f", figures.latencyP99Us),
                    NumberText.plain(figures.retriesPerSaleP99),
                    figures.redisCpuPercent.map { String(format: "%.1f", $0) } ?? "",
                ]
            } else {
                fields += ["0", "", "", "", "", "", "", ""]
            }
            fields += [point.auditsPassed ? "true" : "false", recommended ? "true" : "false"]
            fields += [
                point.aggregate.map { String(format: "%.1f", $0.salesPerSecond.median) } ?? "",
                point.aggregate?.ordersPerSecond.map { String(format: "%.1f", $0.median) } ?? "",
                point.masters.map(String.init) ?? "",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
