import Foundation

/// The worker count worth running for a strategy: the smallest whose median throughput is within a tolerance of
/// the best median. More workers than that cost processes and connections and buy (almost) nothing.
public struct SweepRecommendation: Sendable, Codable, Hashable, CustomStringConvertible {
    public static let defaultTolerance = 0.05

    public var strategy: Strategy
    /// The master count whose points this recommendation comes from, when the sweep compares master counts.
    public var masters: Int?
    public var workers: Int
    /// The median sales per second at `workers`.
    public var salesPerSecond: Double
    /// The worker count with the best median (the smallest of equals).
    public var bestWorkers: Int
    public var bestSalesPerSecond: Double
    public var tolerance: Double
    /// Why, in words: `41.2k/s, within 5% of the best 42.0k/s at 32`.
    public var reason: String

    /// Recommends a worker count from median throughputs. A pure function of its arguments.
    ///
    /// - Parameters:
    ///   - strategy: whose figures these are.
    ///   - masters: the master count they ran on, when the sweep compares master counts.
    ///   - medians: median sales per second by worker count.
    ///   - tolerance: how far below the best median a count may be and still be recommended (0.05: 5%).
    /// - Returns: the smallest worker count whose median is within `tolerance` of the best, or `nil` with no figures.
    public static func recommend(
        strategy: Strategy, masters: Int? = nil, medians: [Int: Double], tolerance: Double = defaultTolerance
    ) -> SweepRecommendation? {
        let counts = medians.keys.sorted()
        guard let first = counts.first, var best = medians[first] else { return nil }
        var bestWorkers = first
        for count in counts.dropFirst() {
            if let median = medians[count], median > best {
                best = median
                bestWorkers = count
            }
        }
        // A difference, not a product with (1 − tolerance), so that exactly 5% below counts as within 5%.
        let chosen = counts.first { (best - (medians[$0] ?? 0)) <= best * tolerance } ?? bestWorkers
        let rate = medians[chosen] ?? best
        let percent = NumberText.percent(tolerance)
        let reason: String
        if counts.count == 1 {
            reason = "\(NumberText.rate(rate))/s; the only worker count with figures"
        } else if chosen == bestWorkers {
            reason = "\(NumberText.rate(rate))/s, the best median; no smaller count comes within \(percent)"
        } else {
            reason =
                "\(NumberText.rate(rate))/s, within \(percent) of the best \(NumberText.rate(best))/s at \(bestWorkers)"
        }
        return SweepRecommendation(
            strategy: strategy, masters: masters, workers: chosen, salesPerSecond: rate, bestWorkers: bestWorkers,
            bestSalesPerSecond: best, tolerance: tolerance, reason: reason)
    }

    /// `lua: 8 workers (41.2k/s, within 5% of the best 42.0k/s at 32)`, or `lua on 3 masters: …`
    public var description: String {
        let on = masters.map { " on \(NumberText.count($0, "master"))" } ?? ""
        return "\(strategy)\(on): \(NumberText.count(workers, "worker")) (\(reason))"
    }
}
