import Foundation

/// An open loop (`--rate R --arrival constant|poisson`): orders are due on a schedule, whether or not the last one
/// has ended, so a slow Redis cannot slow the buyers down and hide its latency (coordinated omission).
public struct Arrival: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How the gaps between one worker's orders are spread.
    public enum Process: String, Sendable, Hashable, Codable, CaseIterable {
        /// Evenly spaced.
        case constant
        /// Exponential gaps (a Poisson process), drawn from the worker's seeded generator.
        case poisson
    }

    /// Orders per second over the whole run, split evenly across the workers.
    public var rate: Double
    public var process: Process

    public init(rate: Double, process: Process = .constant) {
        self.rate = rate
        self.process = process
    }

    /// Parses `--rate R`: orders per second, a positive number.
    ///
    /// - Throws: `ConfigurationError` naming the value and what to write instead.
    public static func rate(parsing text: String) throws(ConfigurationError) -> Double {
        if text.contains(",") {
            throw ConfigurationError(
                "--rate '\(text)': run takes one rate; compare several with stocksim sweep --rate \(text) --duration 2s"
            )
        }
        guard let rate = Double(text.trimmingCharacters(in: .whitespaces)), rate.isFinite, rate > 0 else {
            throw ConfigurationError("--rate '\(text)' is not a positive number of orders per second; write 500 or 2.5")
        }
        return rate
    }

    /// Parses `--arrival constant|poisson`.
    ///
    /// - Throws: `ConfigurationError` naming the accepted values.
    public static func process(parsing text: String) throws(ConfigurationError) -> Process {
        guard let process = Process(rawValue: text) else {
            throw ConfigurationError("--arrival '\(text)' is not an arrival process; use constant or poisson")
        }
        return process
    }

    /// `500/s constant`.
    public var description: String { "\(NumberText.rate(rate))/s \(process.rawValue)" }
}
