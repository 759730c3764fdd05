import Foundation
import StockSim

/// `--witness-cost`: what the per-sale witness costs `watch` and `lua`. Each round runs, per strategy and worker
/// count, one run with the witness and one with `--no-witness`, in alternating order, so that whatever the machine
/// does during a round hits both alike; a ratio is the median of the rounds' own with ÷ without. Where those paired
/// ratios spread wider than twice the target the sales rate cannot tell a 5% cost from noise: its line is a SKIP,
/// and the instruction count (`WitnessInstructions`) decides.
enum WitnessCost {
    /// 1 worker shows the witness's cost per sale without contention; 4 with it.
    static let defaultWorkers = [1, 4]
    /// The witness may cost at most this fraction of the sales rate (issue 14, section 3).
    static let target = 0.05

    /// Runs the rounds and renders the table and a target line per strategy.
    ///
    /// - Throws: `SetupFailure` when a run did not complete or failed its audit.
    static func measure(
        stocksim: String, url: String, stock: Int, workers: [Int], repeats: Int, scratch: String,
        since start: ContinuousClock.Instant
    ) throws(SetupFailure) -> (table: String, targets: [Report.Target]) {
        let strategies: [Strategy] = [.watch, .lua]
        // strategy, workers, witness → samples
        var samples: [String: [Sample]] = [:]
        func name(_ strategy: Strategy, _ count: Int, _ witness: Bool) -> String { "\(strategy)/\(count)/\(witness)" }
        let clock = ContinuousClock()
        for round in 1...repeats {
            for count in workers {
                var progress: [String] = []
                for strategy in strategies {
                    let order = round.isMultiple(of: 2) ? [false, true] : [true, false]
                    for witness in order {
                        let units = strategy == .lua ? Benchmark.scriptedStock(stock: stock, workers: count) : stock
                        let run = try StockSimRun(
                            stocksim: stocksim, url: url, strategy: strategy, ledger: true, stock: units,
                            workers: count, witness: witness, scratch: scratch)
                        let checked =
                            run.report.audit.notes.contains { $0.hasPrefix("per-sale witness:") }
                            && !run.report.audit.notes.contains { $0.hasPrefix("per-sale witness: not checked") }
                        guard checked == witness else {
                            throw SetupFailure(
                                "StockSim \(strategy)\(witness ? "" : " --no-witness") at \(NumberText.count(count, "worker")): the witness was \(checked ? "" : "not ")checked (\(run.report.audit.notes))"
                            )
                        }
                        let sample = Sample(
                            salesPerSecond: run.report.salesPerSecond, conflictRate: run.report.conflictRate,
                            sold: Int(run.report.sold), workers: count, usage: run.usage)
                        samples[name(strategy, count, witness), default: []].append(sample)
                        progress.append(
                            "\(strategy)\(witness ? "" : " --no-witness") \(grouped(sample.salesPerSecond))")
                    }
                }
                let elapsed = Int((clock.now - start) / .seconds(1))
                FileHandle.standardError.write(
                    Data(
                        "round \(round)/\(repeats), \(NumberText.count(count, "worker")): \(progress.joined(separator: ", ")) sales/s  [\(elapsed / 60)m\(String(format: "%02d", elapsed % 60))s]\n"
                            .utf8))
            }
        }

        var table = TextTable(headers: [
            "strategy", "workers", "sales/s with witness", "without", "paired ratio (min–max)", "CPU µs/sale with",
            "without", "ratio",
        ])
        var targets: [Report.Target] = []
        for strategy in strategies {
            var worst: (ratio: Spread, workers: Int)?
            for count in workers {
                let with = samples[name(strategy, count, true)] ?? []
                let without = samples[name(strategy, count, false)] ?? []
                let rateWith = Spread(with.map(\.salesPerSecond))
                let rateWithout = Spread(without.map(\.salesPerSecond))
                // The i-th sample of each ran in the same round.
                let paired = Spread(zip(with, without).map { $0.salesPerSecond / $1.salesPerSecond })
                let cpuWith = Spread(with.compactMap(\.cpuMicrosecondsPerSale))
                let cpuWithout = Spread(without.compactMap(\.cpuMicrosecondsPerSale))
                let cpuRatio = cpuWith.flatMap { a in cpuWithout.map { a.median / $0.median } }
                table.rows.append([
                    "\(strategy)", "\(count)", spread(rateWith), spread(rateWithout),
                    paired.map {
                        "\(times($0.median, digits: 3)) (\(times($0.min, digits: 2))–\(times($0.max, digits: 2)))"
                    } ?? "—",
                    cpuWith.map { String(format: "%.1f", $0.median) } ?? "—",
                    cpuWithout.map { String(format: "%.1f", $0.median) } ?? "—", times(cpuRatio, digits: 3),
                ])
                if let paired, worst.map({ paired.median < $0.ratio.median }) ?? true { worst = (paired, count) }
            }
            if let worst {
                let cost = 1 - worst.ratio.median
                // Fewer than three rounds show no noise to compare with.
                let resolved = repeats >= 3 && worst.ratio.max - worst.ratio.min <= 2 * target
                let figure =
                    "at worst \(percent(cost)) (\(times(worst.ratio.median, digits: 3)) at \(NumberText.count(worst.workers, "worker")), rounds \(times(worst.ratio.min))–\(times(worst.ratio.max)))"
                targets.append(
                    Report.Target(
                        status: resolved ? (cost <= target ? .pass : .fail) : .skip,
                        line: resolved
                            ? "the per-sale witness costs \(strategy) ≤ \(percent(target)) of its sales rate: \(figure)"
                            : "the per-sale witness's cost to \(strategy)'s sales rate is not resolved here: \(figure) \(repeats >= 3 ? "spread wider than ±\(percent(target))" : "too few rounds to know the noise"); see the instruction count"
                    ))
            } else {
                targets.append(
                    Report.Target(status: .skip, line: "the per-sale witness's cost on \(strategy): no runs"))
            }
        }
        let text =
            "sales per second and CPU per sale (user + system of the run's process tree ÷ units sold), medians (min–max); paired ratio = the median of each round's with ÷ without\n"
            + table.rendered + "\n"
        return (text, targets)
    }
}
