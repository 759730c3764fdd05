import Foundation
import Hiredis

/// The retry backoff of the `watch` strategy, as the command line names it.
public enum BackoffSetting: Sendable, Hashable, Codable, CustomStringConvertible {
    case none
    /// Full-jitter exponential backoff from `baseMicroseconds`, capped at `capMicroseconds`.
    case exponential(baseMicroseconds: Int, capMicroseconds: Int)
    /// Contention-aware backoff (the Hiredis policy's `.adaptive`), window from `baseMicroseconds` to `capMicroseconds`.
    case adaptive(baseMicroseconds: Int, capMicroseconds: Int)

    /// The default: adaptive, 1 ms to 200 ms (measured best of the settings tried at 2 to 64 workers).
    public static let standard = BackoffSetting.adaptive(baseMicroseconds: 1_000, capMicroseconds: 200_000)

    /// Parses `none`, `exponential[:BASE_US,CAP_US]` or `adaptive[:BASE_US,CAP_US]`.
    ///
    /// - Throws: `ConfigurationError` naming the accepted forms.
    public init(parsing text: String) throws(ConfigurationError) {
        let parts = text.split(separator: ":", maxSplits: 1)
        switch parts.first {
        case "none":
            self = .none
        case "exponential" where parts.count == 1:
            self = .exponential(baseMicroseconds: 50, capMicroseconds: 5_000)
        case "adaptive" where parts.count == 1:
            self = .standard
        case "exponential", "adaptive":
            let numbers = parts[1].split(separator: ",").compactMap { Int($0) }
            guard numbers.count == 2, numbers[0] > 0, numbers[1] >= numbers[0] else {
                throw ConfigurationError("backoff '\(text)' should be \(parts[0]):BASE_US,CAP_US with 0 < BASE ≤ CAP")
            }
            self =
                parts[0] == "adaptive"
                ? .adaptive(baseMicroseconds: numbers[0], capMicroseconds: numbers[1])
                : .exponential(baseMicroseconds: numbers[0], capMicroseconds: numbers[1])
        default:
            throw ConfigurationError(
                "unknown backoff '\(text)'; use adaptive, exponential, none, or adaptive:BASE_US,CAP_US")
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .exponential(let base, let cap): "exponential:\(base),\(cap)"
        case .adaptive(let base, let cap): "adaptive:\(base),\(cap)"
        }
    }

    var policyBackoff: RetryPolicy.Backoff {
        switch self {
        case .none: .none
        case .exponential(let base, let cap): .exponential(base: .microseconds(base), cap: .microseconds(cap))
        case .adaptive(let base, let cap): .adaptive(base: .microseconds(base), cap: .microseconds(cap))
        }
    }
}
