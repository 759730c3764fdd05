import Foundation
import Hiredis

/// How a `watch` worker waits out a backoff's pause (`--backoff-wait yield|sleep`), as the command line names it: the
/// Hiredis policy's `RetryPolicy.Wait`.
public enum BackoffWait: String, Sendable, Hashable, Codable, CaseIterable {
    /// Yield the CPU until the pause is over, so that it never idles.
    case yield
    /// Sleep; the CPU idles when nothing else runs: the default.
    case sleep

    var policyWait: RetryPolicy.Wait {
        switch self {
        case .yield: .yield
        case .sleep: .sleep
        }
    }
}

/// The retry backoff of the `watch` strategy, as the command line names it.
public enum BackoffSetting: Sendable, Hashable, Codable, CustomStringConvertible {
    case none
    /// Full-jitter exponential backoff from `baseMicroseconds`, capped at `capMicroseconds`.
    case exponential(baseMicroseconds: Int, capMicroseconds: Int)
    /// Contention-aware backoff (the Hiredis policy's `.adaptive`), window from `baseMicroseconds` to `capMicroseconds`.
    case adaptive(baseMicroseconds: Int, capMicroseconds: Int)
    /// Conflict-rate tracking (the Hiredis policy's `.tracking`): after a conflict a full-jitter sleep from one
    /// measured round trip, doubling per conflict in a row; while more than `conflictPercent` of the attempts
    /// conflict, a connection's window from one round trip up to `capMicroseconds` as well.
    case tracking(conflictPercent: Int, capMicroseconds: Int)

    /// The default: tracking a 50% conflict rate, window up to 100 ms. As fast as `none` while no attempt conflicts
    /// (one worker), steps colliding workers apart (2 to 8), and backs off like `adaptive` when conflicts outnumber
    /// sales (16 workers and more).
    public static let standard = BackoffSetting.tracking(conflictPercent: 50, capMicroseconds: 100_000)

    /// `adaptive` without numbers: 1 ms to 200 ms, the default before `tracking`.
    public static let adaptiveStandard = BackoffSetting.adaptive(baseMicroseconds: 1_000, capMicroseconds: 200_000)

    /// Parses `none`, `tracking[:PERCENT,CAP_US]`, `exponential[:BASE_US,CAP_US]` or `adaptive[:BASE_US,CAP_US]`.
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
            self = .adaptiveStandard
        case "tracking" where parts.count == 1:
            self = .standard
        case "tracking":
            let numbers = parts[1].split(separator: ",").compactMap { Int($0) }
            guard numbers.count == 2, (1...99).contains(numbers[0]), numbers[1] > 0 else {
                throw ConfigurationError(
                    "backoff '\(text)' should be tracking:PERCENT,CAP_US with a conflict rate of 1 to 99 percent and CAP > 0"
                )
            }
            self = .tracking(conflictPercent: numbers[0], capMicroseconds: numbers[1])
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
                "unknown backoff '\(text)'; use tracking, adaptive, exponential, none, tracking:PERCENT,CAP_US or adaptive:BASE_US,CAP_US"
            )
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .exponential(let base, let cap): "exponential:\(base),\(cap)"
        case .adaptive(let base, let cap): "adaptive:\(base),\(cap)"
        case .tracking(let percent, let cap): "tracking:\(percent),\(cap)"
        }
    }

    var policyBackoff: RetryPolicy.Backoff {
        switch self {
        case .none: .none
        case .exponential(let base, let cap): .exponential(base: .microseconds(base), cap: .microseconds(cap))
        case .adaptive(let base, let cap): .adaptive(base: .microseconds(base), cap: .microseconds(cap))
        case .tracking(let percent, let cap):
            .tracking(conflictRate: Double(percent) / 100, cap: .microseconds(cap))
        }
    }
}
