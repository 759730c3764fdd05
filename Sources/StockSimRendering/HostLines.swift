import Foundation
public import StockSim

/// The summary's lines for a run of several hosts: one per host, then what coordinating them cost.
public enum HostLines {
    /// Nothing for a run of one host.
    ///
    /// - Parameter row: how the summary lays out a label and its value.
    public static func lines(_ report: SimulationReport, row: (String, String) -> String) -> [String] {
        guard let hosts = report.hosts else { return [] }
        var lines = hosts.map { host in
            let figures =
                host.lost
                ? "LOST (heartbeat expired), \(NumberText.count(host.workers, "worker")), \(NumberText.count(host.acknowledged, "unit")) acknowledged up to its last message"
                : "\(NumberText.count(host.workers, "worker")), \(NumberText.count(host.acknowledged, "unit")), \(NumberText.grouped(host.unitsPerSecond)) units/s, p99 \(NumberText.micros(Double(host.latencyP99Us))), spawn \(NumberText.seconds(host.spawnSeconds)), peak RSS \(NumberText.megabytes(host.workerPeakRssBytes))"
            return row("  host", "\(host.name): \(figures)")
        }
        if let coordination = report.coordination {
            let firstSale =
                coordination.lastRegistrationToFirstSaleMs.map { String(format: "%.1f ms", $0) } ?? "no sale"
            lines.append(
                row(
                    "coordination",
                    "last registration → start \(String(format: "%.1f ms", coordination.lastRegistrationToStartMs)) (margin \(coordination.startMarginMs) ms), → first sale \(firstSale); stream \(NumberText.grouped(coordination.streamBytesPerHostPerSecond)) B/s per host"
                ))
        }
        return lines
    }
}
