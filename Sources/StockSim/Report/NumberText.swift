import Foundation

/// How StockSim writes numbers for people: in the run summary, the sweep table and chart, and the sweep's
/// recommendations. The one set of number formatters.
public enum NumberText {
    /// `850`, `4.12k`, `41.2k`, `412k`, `1.23M`: three significant digits.
    public static func rate(_ value: Double) -> String {
        switch value {
        case ..<1_000: String(format: "%.0f", value)
        case ..<9_995: String(format: "%.2fk", value / 1_000)
        case ..<99_950: String(format: "%.1fk", value / 1_000)
        case ..<999_500: String(format: "%.0fk", value / 1_000)
        default: String(format: "%.2fM", value / 1_000_000)
        }
    }

    /// `5%` for 0.05; `digits` decimals.
    public static func percent(_ fraction: Double, digits: Int = 0) -> String {
        String(format: "%.\(digits)f%%", fraction * 100)
    }

    /// `3` for 3.0, `2.5` for 2.5.
    public static func plain(_ value: Double) -> String {
        value == value.rounded() ? String(format: "%.0f", value) : String(format: "%.1f", value)
    }

    /// `350 µs`, `1.03 ms`, `2.50 s` for a duration in microseconds.
    public static func micros(_ value: Double) -> String {
        switch value {
        case ..<1_000: String(format: "%.0f µs", value)
        case ..<1_000_000: String(format: "%.2f ms", value / 1_000)
        default: String(format: "%.2f s", value / 1_000_000)
        }
    }

    /// `11,370`: whole, with thousands separators.
    public static func grouped(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value)) ?? "\(Int(value))"
    }

    /// `1 unit`, `2 units`, `0 units`: a count with its noun, plural unless the count is exactly one.
    ///
    /// - Parameters:
    ///   - count: how many.
    ///   - noun: the singular noun (`unit`, `worker`).
    ///   - plural: the plural when it is not `noun` + `s` (`entries`).
    public static func count(_ count: some BinaryInteger, _ noun: String, plural: String? = nil) -> String {
        "\(count) " + (count == 1 ? noun : plural ?? noun + "s")
    }

    /// `0.176 s`.
    public static func seconds(_ value: Double) -> String { String(format: "%.3f s", value) }

    /// `16.6 MB` (decimal megabytes).
    public static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_000_000) }
}
