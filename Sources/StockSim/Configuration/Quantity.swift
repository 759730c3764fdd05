import Foundation
import Hiredis

/// How many units one order takes: a fixed amount or a uniform random amount in a range.
public struct Quantity: Sendable, Hashable, Codable, CustomStringConvertible {
    public let range: ClosedRange<Int>

    /// - Throws: `ConfigurationError` when the range is empty or not positive.
    public init(_ range: ClosedRange<Int>) throws(ConfigurationError) {
        guard range.lowerBound >= 1 else {
            throw ConfigurationError(
                "quantity must be at least 1, not \(range.lowerBound); use --quantity 1 or a range like 1-3")
        }
        self.range = range
    }

    public static let one: Quantity = Quantity(checked: 1...1)

    private init(checked range: ClosedRange<Int>) { self.range = range }

    /// Parses `3` or `1-3`.
    ///
    /// - Throws: `ConfigurationError` naming what is wrong.
    public init(parsing text: String) throws(ConfigurationError) {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let low = Int(parts[0]), parts.count == 1 || Int(parts[1]) != nil else {
            throw ConfigurationError("quantity '\(text)' is not a whole number or a range like 1-3")
        }
        let high = parts.count == 2 ? Int(parts[1]) ?? low : low
        guard low <= high else {
            throw ConfigurationError(
                "quantity range '\(text)' runs backwards; write the smaller number first, as \(high)-\(low)")
        }
        try self.init(low...high)
    }

    public var description: String {
        range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
    }
}
