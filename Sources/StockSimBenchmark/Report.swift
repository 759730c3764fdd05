import Foundation
import StockSim

/// The printed result: a table per strategy, then a PASS/FAIL line per performance target.
struct Report {
    let measurements: Measurements
    /// The worker counts measured, sorted.
    let workers: [Int]
    let hasCLoop: Bool
    let hasRedisPy: Bool
    /// Units per run.
    let stock: Int
    /// Worker counts at which the redis-py snippet sold less than the full stock (it is slow there).
    let redisPyReducedStock: [Int: Int]

    static let watch = Contender.stocksim(.watch, ledger: true)
    static let watchNoLedger = Contender.stocksim(.watch, ledger: false)
    static let lua = Contender.stocksim(.lua, ledger: true)
    static let luaNoLedger = Contender.stocksim(.lua, ledger: false)

    /// The four tables.
    var tables: String {
        var text = ""
        let best = bestWatch
        var watch = TextTable(headers: ["workers", "sales/s median (min–max)", "conflicts", "÷ --no-ledger", "÷ best"])
        for count in workers {
            let share = best.flatMap { best in
                measurements.rate(Self.watch, workers: count).map { $0.median / best.median }
            }
            watch.rows.append([
                "\(count)", spread(measurements.rate(Self.watch, workers: count)),
                percent(measurements.conflictRate(Self.watch, workers: count)?.median),
                times(measurements.ratio(Self.watch, over: Self.watchNoLedger, workers: count)?.value),
                count <= 64 ? times(share) : "",
            ])
        }
        text += "watch (the default: ledger on, adaptive backoff); ÷ best: share of its best median at 1–64 workers\n"
        text += watch.rendered + "\n\n"

        var headers = ["workers", "sales/s median (min–max)", "conflicts"]
        if hasCLoop { headers += ["C watch", "ratio"] }
        if hasRedisPy { headers += ["redis-py", "ratio"] }
        var plain = TextTable(headers: headers)
        for count in workers {
            var row = [
                "\(count)", spread(measurements.rate(Self.watchNoLedger, workers: count)),
                percent(measurements.conflictRate(Self.watchNoLedger, workers: count)?.median),
            ]
            if hasCLoop {
                row += [
                    spread(measurements.rate(.cLoop(lua: false), workers: count)),
                    times(measurements.ratio(Self.watchNoLedger, over: .cLoop(lua: false), workers: count)?.value),
                ]
            }
            if hasRedisPy {
                let mark = redisPyReducedStock[count] == nil ? "" : " *"
                row += [
                    spread(measurements.rate(.redisPy, workers: count)) + mark,
                    times(measurements.ratio(Self.watchNoLedger, over: .redisPy, workers: count)?.value),
                ]
            }
            plain.rows.append(row)
        }
        text += "watch --no-ledger (adaptive backoff)"
        text +=
            hasCLoop || hasRedisPy ? " vs the C watch loop and the redis-py snippet, same stock and workers\n" : "\n"
        text += plain.rendered + "\n"
        if let stock = redisPyReducedStock.values.first {
            let all = redisPyReducedStock.keys.sorted().map(String.init).joined(separator: ", ")
            text += "  * at \(all) workers redis-py sold \(grouped(Double(stock))) units (the stock ÷ 10), not"
            text +=
                " \(grouped(Double(self.stock))): its retry loop is slowest there and the full stock would take minutes;"
            text += " compared as a rate (sales per second)\n"
        }
        text += "\n"

        var luaHeaders = ["workers", "sales/s median (min–max)"]
        if hasCLoop { luaHeaders += ["C lua", "ratio"] }
        var lua = TextTable(headers: luaHeaders)
        for count in workers {
            var row = ["\(count)", spread(measurements.rate(Self.luaNoLedger, workers: count))]
            if hasCLoop {
                row += [
                    spread(measurements.rate(.cLoop(lua: true), workers: count)),
                    times(measurements.ratio(Self.luaNoLedger, over: .cLoop(lua: true), workers: count)?.value),
                ]
            }
            lua.rows.append(row)
        }
        text += "lua --no-ledger" + (hasCLoop ? " vs the C loop in lua mode (one EVALSHA per sale)" : "")
        text += "; every lua run sells the stock × min(workers, 5), so that it lasts about a second\n"
        text += lua.rendered + "\n\n"

        var luaLedger = TextTable(headers: ["workers", "sales/s median (min–max)", "÷ --no-ledger"])
        for count in workers {
            luaLedger.rows.append([
                "\(count)", spread(measurements.rate(Self.lua, workers: count)),
                times(measurements.ratio(Self.lua, over: Self.luaNoLedger, workers: count)?.value),
            ])
        }
        text += "lua (ledger on: the script writes the ledger entry too)\n"
        text += luaLedger.rendered + "\n"
        return text
    }

    /// The best median of `watch` (with ledger) at 1 to 64 workers, and where.
    var bestWatch: (workers: Int, median: Double)? {
        workers.filter { $0 <= 64 }
            .compactMap { count in measurements.rate(Self.watch, workers: count).map { (count, $0.median) } }
            .max { $0.1 < $1.1 }
    }

    struct Target {
        enum Status: String {
            case pass = "PASS"
            case fail = "FAIL"
            case skip = "SKIP"
        }
        var status: Status
        var line: String
    }

    /// The performance targets of the issue, each from figures of this invocation.
    var targets: [Target] {
        var targets: [Target] = []
        func compare(
            _ number: Int, _ what: String, _ ratio: Ratio?, atLeast threshold: Double, thresholdText: String,
            missing: String
        ) {
            guard let ratio else {
                targets.append(Target(status: .skip, line: "\(number). \(what): \(missing)"))
                return
            }
            let rounds = ratio.rounds.map { ", rounds \(times($0.min, digits: 3))–\(times($0.max, digits: 3))" } ?? ""
            targets.append(
                Target(
                    status: ratio.value >= threshold ? .pass : .fail,
                    line:
                        "\(number). \(what): \(grouped(ratio.mine)) / \(grouped(ratio.theirs)) sales/s = \(times(ratio.value, digits: 3))\(rounds); target \(thresholdText)"
                ))
        }
        compare(
            1, "watch --no-ledger ÷ C watch loop, 1 worker",
            measurements.ratio(Self.watchNoLedger, over: .cLoop(lua: false), workers: 1), atLeast: 0.9,
            thresholdText: "≥ 0.90×", missing: "no C reference in this run")
        compare(
            2, "watch --no-ledger ÷ redis-py snippet, 10 workers",
            measurements.ratio(Self.watchNoLedger, over: .redisPy, workers: 10), atLeast: 5, thresholdText: "≥ 5×",
            missing: "no redis-py reference in this run")
        for count in [1, 10] {
            compare(
                3, "lua --no-ledger ÷ C lua loop, \(count) worker\(count == 1 ? "" : "s")",
                measurements.ratio(Self.luaNoLedger, over: .cLoop(lua: true), workers: count), atLeast: 0.9,
                thresholdText: "≥ 0.90×", missing: "no C reference in this run")
        }
        for count in [1, 10] {
            compare(
                4, "ledger cost: watch ÷ watch --no-ledger, \(count) worker\(count == 1 ? "" : "s")",
                measurements.ratio(Self.watch, over: Self.watchNoLedger, workers: count), atLeast: 0.75,
                thresholdText: "≥ 0.75× (the ledger costs at most 25%)", missing: "not measured")
        }
        if let best = bestWatch, workers.contains(64) {
            compare(
                5, "no collapse: watch at 64 workers ÷ its best median (at \(best.workers) workers)",
                measurements.ratio(Self.watch, over: Self.watch, workers: 64, otherWorkers: best.workers),
                atLeast: 0.7, thresholdText: "≥ 0.70×", missing: "not measured")
        } else {
            targets.append(
                Target(
                    status: .skip, line: "5. no collapse: watch at 64 workers was not measured (add 64 to --workers)"))
        }
        return targets
    }
}

/// Columns of text, right-aligned, two spaces apart.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []

    var rendered: String {
        let widths = headers.indices.map { column in
            ([headers] + rows).map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return ([headers] + rows).map { row in
            "  "
                + row.enumerated().map { column, cell in
                    String(repeating: " ", count: max(0, widths[column] - cell.count)) + cell
                }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// 12466.4 → "12,466".
func grouped(_ value: Double) -> String {
    guard value.isFinite else { return "—" }
    let whole = Int(value.rounded())
    let digits = Array(String(whole.magnitude))
    var text = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index).isMultiple(of: 3) { text.append(",") }
        text.append(digit)
    }
    return (whole < 0 ? "-" : "") + text
}

/// "12,466 (12,100–12,600)", or "—" when not measured.
func spread(_ spread: Spread?) -> String {
    guard let spread else { return "—" }
    return "\(grouped(spread.median)) (\(grouped(spread.min))–\(grouped(spread.max)))"
}

func times(_ ratio: Double?, digits: Int = 2) -> String {
    ratio.map { String(format: "%.\(digits)f×", $0) } ?? "—"
}

func percent(_ fraction: Double?) -> String {
    fraction.map { String(format: "%.1f%%", $0 * 100) } ?? "—"
}
