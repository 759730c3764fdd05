import Foundation
public import StockSim

/// A sweep as CSV: a header and one row per strategy and worker count (`stocksim sweep --csv`).
public struct SweepCSV: Sendable {
    public var result: SweepResult

    /// - Parameter result: the sweep to write.
    public init(_ result: SweepResult) { self.result = result }

    /// The columns, in order. `sales_per_second_*` count units (an order of 3 counts 3), as `units_per_second_median`
    /// does; `orders_per_second_median` counts orders; `masters` is the embedded cluster's master count when the sweep
    /// compares them (`--cluster-masters 1,2,3`), empty otherwise. With `--rate LIST`: `rate` is the point's open-loop
    /// rate, `achieved_rate` the orders placed per second, `corrected_latency_p99_us` the p99 from when each order
    /// was due; with `--p99-target` also the target, whether the point met it, and `highest_rate_meeting_target`, the
    /// finding for the point's strategy and worker count (empty when no rate met it), on every row of that place. Empty
    /// for a closed loop. Columns are added at the end, never renamed.
    public static let header = [
        "strategy", "workers", "runs", "sales_per_second_median", "sales_per_second_min", "sales_per_second_max",
        "conflict_rate", "latency_p99_us", "retries_per_sale_p99", "redis_cpu_percent", "audits_passed",
        "recommended", "units_per_second_median", "orders_per_second_median", "masters", "rate", "achieved_rate",
        "corrected_latency_p99_us", "p99_target_us", "meets_p99_target", "highest_rate_meeting_target",
    ]

    /// A header and one row per point; a point none of whose runs completed has empty figures.
    public func text() -> String {
        var lines = [Self.header.joined(separator: ",")]
        for point in result.points {
            let recommended = result.isRecommended(point)
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
            let target = result.parameters.p99TargetUs
            let corrected = point.aggregate?.correctedLatencyP99Us
            let finding = result.rateFinding(for: point.strategy, workers: point.workers, masters: point.masters)
            fields += [
                point.rate.map(Self.number) ?? "",
                point.aggregate?.achievedRate.map { String(format: "%.1f", $0) } ?? "",
                corrected.map { String(format: "%.0f", $0) } ?? "", target.map(Self.number) ?? "",
                SweepRateFinding.meets(point, p99TargetUs: target).map { $0 ? "true" : "false" } ?? "",
                finding?.highestRate.map(Self.number) ?? "",
            ]
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `500`, `2.5`: a number as given, without a needless `.0`.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(format: "%.0f", value) : "\(value)"
    }
}
