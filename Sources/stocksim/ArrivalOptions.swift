import ArgumentParser
import StockSim

/// `--arrival`, shared by `run` and `sweep` (pulled into each with `@OptionGroup`, next to the command's own
/// `--rate`: one rate for a run, a list for a sweep).
struct ArrivalOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "With --rate: how one worker's orders are spaced: constant (even gaps) or poisson (default: constant).")
    var arrival: String?

    /// The process `--arrival` names, or `nil` without it.
    ///
    /// - Parameters:
    ///   - hasRate: Whether the command has `--rate`: without it there is no open loop to space.
    ///   - rateValue: How the command's help writes `--rate`'s value (`R`, `LIST`), for the message that asks for it.
    /// - Throws: `ConfigurationError` for an unknown process, or `--arrival` without `--rate`.
    func process(hasRate: Bool, rateValue: String) throws(ConfigurationError) -> Arrival.Process? {
        guard let arrival else { return nil }
        let process = try Arrival.process(parsing: arrival)
        guard hasRate else {
            throw ConfigurationError(
                "--arrival spaces the orders of an open loop; add --rate \(rateValue) or drop --arrival")
        }
        return process
    }
}
