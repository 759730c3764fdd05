import Foundation

/// Smallest, median and largest of a figure over the repeats of a point.
public struct SweepSpread: Sendable, Codable, Hashable {
    public var min: Double
    public var median: Double
    public var max: Double

    public init(min: Double, median: Double, max: Double) {
        self.min = min
        self.median = median
        self.max = max
    }

    /// The spread of `values`, or `nil` when there are none. The median of an even count is the mean of the middle
    /// two.
    public init?(_ values: [Double]) {
        let sorted = values.sorted()
        guard let first = sorted.first, let last = sorted.last else { return nil }
        let middle = sorted.count / 2
        self.init(
            min: first, median: sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2,
            max: last)
    }
}
