public import StockSim

/// The summary's `ended` line: why the sale ended, in words, with the reason's name as the JSON has it.
public enum EndReasonText {
    /// One line: `sold-out: every unit sold`, and so on.
    public static func text(_ report: SimulationReport) -> String {
        let words: String
        switch report.endReason {
        case .soldOut: words = "every unit sold"
        case .orderLimit:
            words = "every worker placed its share of the \(NumberText.count(report.ordersLimit ?? 0, "order"))"
        case .timeLimit: words = "--duration ran out; the workers were stopped"
        case .demandUnmet:
            words =
                "no order fits what is left (stock left \(report.stock.final ?? 0); order size \(report.quantity), cart size \(report.cartSize))"
        case .stopped: words = "stopped before the demand was met"
        case .failed: words = "a worker or Redis failed; see below"
        }
        return "\(report.endReason.rawValue): \(words)"
    }
}
