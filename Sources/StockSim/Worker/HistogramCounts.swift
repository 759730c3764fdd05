import Histogram

/// The recorded values of an HDR histogram as (value, count) pairs: how a worker's latencies and retries travel to
/// the driver, which adds them into its own.
struct HistogramCounts: Codable, Sendable, Equatable {
    var pairs: [[UInt64]]

    init(pairs: [[UInt64]] = []) { self.pairs = pairs }

    init(_ histogram: Histogram<UInt64>) {
        pairs = histogram.recordedValues().map { [$0.value, $0.count] }
    }

    init(from decoder: any Decoder) throws { pairs = try [[UInt64]](from: decoder) }
    func encode(to encoder: any Encoder) throws { try pairs.encode(to: encoder) }

    /// Adds these counts into `histogram`.
    func add(to histogram: inout Histogram<UInt64>) {
        for pair in pairs where pair.count == 2 { histogram.record(pair[0], count: pair[1]) }
    }
}

extension Histogram<UInt64> {
    /// Per sale, first attempt to commit, in microseconds (up to ten minutes).
    static func saleLatency() -> Self {
        Self(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
    }
    /// Per sale, attempts − 1.
    static func saleRetries() -> Self { Self(highestTrackableValue: 1_000_000, numberOfSignificantValueDigits: .two) }
}
