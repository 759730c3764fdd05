import Foundation

/// Values onto a horizontal log-2 axis: the smallest and largest value stand a margin in from the ends (one value
/// alone sits in the middle), and every value is a tick unless it would crowd the one before it. The sweep chart's
/// worker axis and its rate chart's rate axis.
struct LogAxis {
    /// How far in from the ends the smallest and largest value stand, in log-2 units.
    enum Margin {
        /// The same distance whatever the values.
        case fixed(Double)
        /// This fraction of the distance between the smallest and the largest value.
        case spanFraction(Double)
    }

    /// The ends of the axis, in log-2 units.
    let low: Double
    let high: Double
    /// Where the ends are drawn.
    let left: Double
    let right: Double
    /// The values labelled, smallest first.
    private(set) var ticks: [Double] = []

    /// - Parameters:
    ///   - values: The values measured; a value below 1e-9 is drawn at 1e-9.
    ///   - margin: How far in from the ends the smallest and largest value stand.
    ///   - minimumTickGap: How far apart two ticks must be drawn; a value closer to the tick before it is not one.
    ///   - left: Where the low end is drawn; by default the chart's plot, inside its inset.
    ///   - right: Where the high end is drawn.
    init(
        values: [Double], margin: Margin, minimumTickGap: Double,
        left: Double = SweepChart.plotLeft + SweepChart.inset.horizontal,
        right: Double = SweepChart.plotRight - SweepChart.inset.horizontal
    ) {
        let logs = values.map(Self.log)
        let first = logs.min() ?? 0
        let last = logs.max() ?? 0
        let padding =
            switch margin {
            case .fixed(let distance): distance
            case .spanFraction(let fraction): fraction * (last - first)
            }
        low = first == last ? first - 1 : first - padding
        high = first == last ? last + 1 : last + padding
        self.left = left
        self.right = right
        for value in values.sorted() {
            if let previous = ticks.last, x(value) - x(previous) < minimumTickGap { continue }
            ticks.append(value)
        }
    }

    /// Where `value` is drawn.
    func x(_ value: Double) -> Double {
        left + (Self.log(value) - low) / (high - low) * (right - left)
    }

    private static func log(_ value: Double) -> Double {
        log2(Swift.max(value, 1e-9))
    }
}
