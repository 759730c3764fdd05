import Foundation

/// The highest open-loop rate whose corrected p99 met the target (`stocksim sweep --rate LIST --p99-target MS`), for
/// one strategy at one worker count (on one master count, when the sweep compares them).
///
/// A rate meets the target when its point's runs completed, passed their audits, and the median of their corrected
/// p99s (from the time each order was due, `open_loop.latency_us_corrected.p99`) is at most the target. The finding
/// is the highest such rate, whether or not a lower rate missed (the table shows every rate's figure).
public struct SweepRateFinding: Sendable, Codable, Hashable, CustomStringConvertible {
    /// What the rates measured say about the target.
    public enum Verdict: String, Sendable, Codable, Hashable {
        /// Some rates met it and some did not: `highest_rate` is the answer.
        case met
        /// No rate met it: even the lowest was too fast (or every point failed its audit).
        case noneMet = "none_met"
        /// Every rate met it: the limit lies above the highest rate measured; try higher rates.
        case everyMet = "every_met"
    }

    public var strategy: Strategy
    public var workers: Int
    /// The masters of the embedded cluster, when the sweep compares master counts.
    public var masters: Int?
    /// The target, in microseconds.
    public var p99TargetUs: Double
    public var verdict: Verdict
    /// The highest rate (orders per second) that met the target; `nil` when none did.
    public var highestRate: Double?
    /// The corrected p99 at `highest_rate`, in microseconds.
    public var highestRateP99Us: Double?
    /// The lowest rate above `highest_rate` that missed the target (with none met, the lowest rate measured), and its
    /// corrected p99; `nil` when every rate met it.
    public var missedRate: Double?
    public var missedRateP99Us: Double?
    /// The rates that met the target and those that did not, ascending.
    public var ratesMet: [Double]
    public var ratesMissed: [Double]

    /// The finding from the points of one strategy at one worker count (and master count). A pure function of its
    /// arguments.
    ///
    /// - Parameters:
    ///   - points: the points measured, one per rate (points of other strategies, worker counts or master counts,
    ///     and closed-loop points, are ignored).
    ///   - p99TargetUs: the target, in microseconds.
    /// - Returns: the finding, or `nil` when no point of that place has a corrected p99 (no run completed).
    public static func find(
        strategy: Strategy, workers: Int, masters: Int? = nil, points: [SweepPoint], p99TargetUs: Double
    ) -> SweepRateFinding? {
        var measured: [(rate: Double, p99: Double, meets: Bool)] = []
        for point in points where point.strategy == strategy && point.workers == workers && point.masters == masters {
            guard let rate = point.rate, let p99 = point.aggregate?.correctedLatencyP99Us,
                let meets = meets(point, p99TargetUs: p99TargetUs)
            else { continue }
            measured.append((rate, p99, meets))
        }
        measured.sort { $0.rate < $1.rate }
        guard !measured.isEmpty else { return nil }
        let best = measured.last(where: \.meets)
        let missed = measured.first { !$0.meets && $0.rate > (best?.rate ?? -1) }
        let verdict: Verdict =
            best == nil ? .noneMet : measured.allSatisfy(\.meets) ? .everyMet : .met
        return SweepRateFinding(
            strategy: strategy, workers: workers, masters: masters, p99TargetUs: p99TargetUs, verdict: verdict,
            highestRate: best?.rate, highestRateP99Us: best?.p99, missedRate: missed?.rate,
            missedRateP99Us: missed?.p99, ratesMet: measured.filter(\.meets).map(\.rate),
            ratesMissed: measured.filter { !$0.meets }.map(\.rate))
    }

    /// Whether `point` met the target: its runs completed and passed their audits, and their median corrected p99 is
    /// at most the target; `nil` when it has no corrected p99 (a closed loop, or no run completed) or there is no
    /// target.
    public static func meets(_ point: SweepPoint, p99TargetUs: Double?) -> Bool? {
        guard let p99TargetUs, let p99 = point.aggregate?.correctedLatencyP99Us else { return nil }
        return point.auditsPassed && p99 <= p99TargetUs
    }

    /// `lua at 2 workers`, or `lua at 2 workers on 3 masters`.
    public var place: String {
        "\(strategy) at \(NumberText.count(workers, "worker"))"
            + (masters.map { " on \(NumberText.count($0, "master"))" } ?? "")
    }

    /// The finding in words: `lua at 2 workers: 2.00k/s (p99 3.10 ms); 4.00k/s missed it (p99 12.0 ms)`, `… no rate
    /// met it (500/s: p99 12.0 ms)`, `… every rate met it (4.00k/s: p99 1.20 ms); try higher rates`.
    public var description: String {
        func figure(_ rate: Double?, _ p99: Double?) -> String {
            "\(rate.map(Self.rateText) ?? "?")/s: p99 \(p99.map(NumberText.micros) ?? "?")"
        }
        switch verdict {
        case .met:
            return
                "\(place): \(highestRate.map(Self.rateText) ?? "?")/s (p99 \(highestRateP99Us.map(NumberText.micros) ?? "?"))"
                + (missedRate.map {
                    "; \(Self.rateText($0))/s missed it (p99 \(missedRateP99Us.map(NumberText.micros) ?? "?"))"
                } ?? "")
        case .noneMet:
            return "\(place): no rate met it (\(figure(missedRate, missedRateP99Us)))"
        case .everyMet:
            return "\(place): every rate met it (\(figure(highestRate, highestRateP99Us))); try higher rates"
        }
    }

    /// A rate for people: `2.5`, `500`, `2.00k`.
    public static func rateText(_ rate: Double) -> String {
        rate < 100 && rate != rate.rounded() ? NumberText.plain(rate) : NumberText.rate(rate)
    }
}
