import Histogram

/// The recorded values of an HDR histogram as (value, count) pairs: how a worker's latencies and retries travel to
/// the driver, which adds them into its own.
///
/// Kept and sent flat, `[value, count, value, count, …]`: a worker keeps one of these for every second it sells
/// (`intervals[]`), and an array per pair (64 bytes of heap, and as much again when encoded) made a worker's memory
/// grow by megabytes a minute. A nested `[[value, count], …]` still decodes.
struct HistogramCounts: Codable, Sendable, Equatable {
    /// Value, count, value, count, …
    private var flat: [UInt64]

    init(pairs: [[UInt64]] = []) {
        flat = pairs.flatMap { $0.count == 2 ? $0 : [] }
    }

    init(_ histogram: Histogram<UInt64>) {
        flat = []
        for recorded in histogram.recordedValues() {
            flat.append(recorded.value)
            flat.append(recorded.count)
        }
    }

    /// The (value, count) pairs.
    var pairs: [[UInt64]] { stride(from: 0, to: flat.count - 1, by: 2).map { [flat[$0], flat[$0 + 1]] } }

    init(from decoder: any Decoder) throws {
        if let flat = try? [UInt64](from: decoder) {
            self.flat = flat.count % 2 == 0 ? flat : Array(flat.dropLast())
        } else {
            flat = try [[UInt64]](from: decoder).flatMap { $0.count == 2 ? $0 : [] }
        }
    }
    func encode(to encoder: any Encoder) throws { try flat.encode(to: encoder) }

    /// How many numbers the flat form holds: twice the pairs.
    var flatCount: Int { flat.count }

    /// Appends the JSON that `encode(to:)` writes, `[value,count,…]`.
    func appendJSON(to line: inout [UInt8]) {
        line.append(UInt8(ascii: "["))
        for (index, number) in flat.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            line.append(contentsOf: String(number).utf8)
        }
        line.append(UInt8(ascii: "]"))
    }

    /// Adds these counts into `histogram`.
    func add(to histogram: inout Histogram<UInt64>) {
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            histogram.record(flat[index], count: flat[index + 1])
        }
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
