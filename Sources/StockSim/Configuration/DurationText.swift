/// `--duration` as people write it: `30s`, `1500ms`, `2m`, `1h`, or a bare number of seconds (memtier's
/// `--test-time`).
public enum DurationText {
    /// Parses a duration into milliseconds.
    ///
    /// - Parameter text: a whole number with an optional unit: `ms`, `s`, `m` or `h`.
    /// - Returns: the milliseconds it names.
    /// - Throws: `ConfigurationError` naming what is wrong.
    public static func milliseconds(parsing text: String) throws(ConfigurationError) -> Int {
        let units: [(suffix: String, milliseconds: Int)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)]
        let unit = units.first { text.hasSuffix($0.suffix) } ?? ("", 1_000)
        let number = text.dropLast(unit.suffix.count)
        guard let value = Int(number), value >= 1 else {
            throw ConfigurationError(
                "duration '\(text)' is not a positive whole number with a unit ms, s, m or h, as 30s, 1500ms or 2m")
        }
        let (milliseconds, overflow) = value.multipliedReportingOverflow(by: unit.milliseconds)
        guard !overflow else { throw ConfigurationError("duration '\(text)' is too long") }
        return milliseconds
    }
}
