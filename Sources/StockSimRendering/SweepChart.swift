import Foundation
public import StockSim

/// A sweep drawn as an SVG document a person can read without the table: throughput on top, conflict rate below,
/// both against the number of workers on a log-2 axis, one line per strategy, the recommended points ringed.
///
/// The SVG is written by hand (no dependencies) and is well-formed XML. Elements carry classes and `data-`
/// attributes so that a program can find them: `g.series[data-strategy]` holds a strategy's
/// `polyline.throughput` and `polyline.conflict-rate`; `circle.recommended[data-strategy][data-workers]` rings a
/// recommended point on each panel.
public struct SweepChart: Sendable {
    public var result: SweepResult

    public init(_ result: SweepResult) {
        self.result = result
    }

    private static let width = 900.0
    private static let height = 650.0
    private static let plotLeft = 90.0
    private static let plotRight = 660.0
    private static let legendLeft = 690.0
    private static let throughputPanel = (top: 86.0, bottom: 326.0)
    private static let conflictPanel = (top: 416.0, bottom: 596.0)

    /// Okabe–Ito colours, which stay apart for the common kinds of colour blindness; fixed per strategy so that
    /// charts of different sweeps agree.
    static func colour(of strategy: Strategy) -> String {
        switch strategy {
        case .watch: "#0072B2"
        case .lua: "#D55E00"
        case .decr: "#009E73"
        case .unsafe: "#CC79A7"
        }
    }

    /// The SVG document.
    public func svg() -> String {
        let parameters = result.parameters
        let plotted = result.points.filter { $0.aggregate != nil }
        let workerCounts = Set(plotted.map(\.workers)).sorted()
        let scale = WorkerScale(counts: workerCounts.isEmpty ? parameters.workerCounts : workerCounts)
        let salesTop = Self.niceAxis(max: plotted.compactMap { $0.aggregate?.salesPerSecond.max }.max() ?? 0, floor: 1)
        let conflictTop = Self.niceAxis(
            max: (plotted.compactMap { $0.aggregate?.conflictRate }.max() ?? 0) * 100, floor: 1, ceiling: 100)
        let sales = Axis(top: Self.throughputPanel.top, bottom: Self.throughputPanel.bottom, range: salesTop)
        let conflicts = Axis(top: Self.conflictPanel.top, bottom: Self.conflictPanel.bottom, range: conflictTop)

        var svg: [String] = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(Self.width))" height="\#(Int(Self.height))" viewBox="0 0 \#(Int(Self.width)) \#(Int(Self.height))" font-family="Helvetica, Arial, sans-serif" font-size="12">"#,
            "<title>StockSim sweep: sales per second and conflict rate by number of workers</title>",
            #"<rect width="100%" height="100%" fill="white"/>"#,
        ]
        let server = result.target
        svg.append(text("StockSim sweep", x: Self.plotLeft, y: 28, attributes: #"font-size="17" font-weight="bold""#))
        svg.append(
            text(
                "\(NumberText.count(parameters.stock, "unit")) per run, key \(parameters.key), \(NumberText.count(parameters.repeats, "repeat")) per point, \(server)",
                x: Self.plotLeft, y: 48, attributes: ##"fill="#444""##))

        // Panels: frame, grid, ticks, titles.
        svg.append(
            text(
                "Throughput: median sales per second (bars: slowest to fastest repeat)", x: Self.plotLeft,
                y: sales.top - 12, attributes: #"font-size="13" font-weight="bold""#))
        svg += panel(axis: sales, scale: scale, label: Self.rateLabel, title: "sales per second (units/s)")
        svg.append(
            text(
                "Conflict rate: conflicts per attempt (%)", x: Self.plotLeft, y: conflicts.top - 12,
                attributes: #"font-size="13" font-weight="bold""#))
        svg += panel(
            axis: conflicts, scale: scale, label: { Self.plainLabel($0) + "%" }, title: "conflicts per attempt (%)")

        // One series per strategy (and master count, when the sweep compares them: `data-masters`).
        let masterCounts: [Int?] = parameters.clusterMasters?.map(Optional.some) ?? [nil]
        for strategy in parameters.strategies {
            for masters in masterCounts {
                let points = plotted.filter { $0.strategy == strategy && $0.masters == masters }
                    .sorted { $0.workers < $1.workers }
                let colour = Self.colour(of: strategy)
                let mastersAttribute = masters.map { #" data-masters="\#($0)""# } ?? ""
                svg.append(
                    #"<g class="series" data-strategy="\#(strategy.rawValue)"\#(mastersAttribute) stroke="\#(colour)" fill="\#(colour)">"#
                )
                let salesLine = points.compactMap { point in
                    point.aggregate.map { "\(f(scale.x(point.workers))),\(f(sales.y($0.salesPerSecond.median)))" }
                }
                svg.append(
                    #"<polyline class="throughput" points="\#(salesLine.joined(separator: " "))" fill="none" stroke-width="2"\#(Self.dashes(of: strategy))/>"#
                )
                let conflictLine = points.compactMap { point in
                    point.aggregate.map { "\(f(scale.x(point.workers))),\(f(conflicts.y($0.conflictRate * 100)))" }
                }
                svg.append(
                    #"<polyline class="conflict-rate" points="\#(conflictLine.joined(separator: " "))" fill="none" stroke-width="2"\#(Self.dashes(of: strategy))/>"#
                )
                for point in points {
                    guard let figures = point.aggregate else { continue }
                    let x = scale.x(point.workers)
                    let low = sales.y(figures.salesPerSecond.min)
                    let high = sales.y(figures.salesPerSecond.max)
                    svg.append(
                        #"<path class="spread" d="M\#(f(x - 4)),\#(f(low))H\#(f(x + 4))M\#(f(x)),\#(f(low))V\#(f(high))M\#(f(x - 4)),\#(f(high))H\#(f(x + 4))" fill="none" stroke-width="1.2" opacity="0.7"/>"#
                    )
                    let attributes = #"class="point" data-workers="\#(point.workers)" stroke="none""#
                    svg.append(
                        marker(strategy, x: x, y: sales.y(figures.salesPerSecond.median), attributes: attributes))
                    svg.append(
                        marker(strategy, x: x, y: conflicts.y(figures.conflictRate * 100), attributes: attributes))
                    if !point.auditsPassed {
                        let y = sales.y(figures.salesPerSecond.median)
                        svg.append(
                            #"<path class="audit-failed" d="M\#(f(x - 6)),\#(f(y - 6))L\#(f(x + 6)),\#(f(y + 6))M\#(f(x - 6)),\#(f(y + 6))L\#(f(x + 6)),\#(f(y - 6))" stroke="black" stroke-width="2"/>"#
                        )
                    }
                }
                if let recommendation = result.recommendation(for: strategy, masters: masters),
                    let figures = points.first(where: { $0.workers == recommendation.workers })?.aggregate
                {
                    let x = scale.x(recommendation.workers)
                    for (panel, y) in [
                        ("throughput", sales.y(figures.salesPerSecond.median)),
                        ("conflict-rate", conflicts.y(figures.conflictRate * 100)),
                    ] {
                        svg.append(
                            #"<circle class="recommended" data-strategy="\#(strategy.rawValue)" data-workers="\#(recommendation.workers)" data-panel="\#(panel)" cx="\#(f(x))" cy="\#(f(y))" r="8" fill="none" stroke-width="2.5"/>"#
                        )
                    }
                    svg.append(
                        text(
                            "\(recommendation.workers)", x: x + 8, y: sales.y(figures.salesPerSecond.median) - 9,
                            attributes: #"font-weight="bold" stroke="none""#))
                }
                svg.append("</g>")
            }
        }

        svg += legend(strategies: parameters.strategies)
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    /// The frame, grid lines, tick labels and axis titles of one panel.
    private func panel(axis: Axis, scale: WorkerScale, label: (Double) -> String, title: String) -> [String] {
        var lines: [String] = []
        let middle = (axis.top + axis.bottom) / 2
        for value in axis.range.ticks {
            let y = axis.y(value)
            lines.append(
                ##"<line class="grid" x1="\##(f(Self.plotLeft))" y1="\##(f(y))" x2="\##(f(Self.plotRight))" y2="\##(f(y))" stroke="#e3e3e3"/>"##
            )
            lines.append(text(label(value), x: Self.plotLeft - 8, y: y + 4, attributes: #"text-anchor="end""#))
        }
        for count in scale.ticks {
            let x = scale.x(count)
            lines.append(
                ##"<line class="grid" x1="\##(f(x))" y1="\##(f(axis.top))" x2="\##(f(x))" y2="\##(f(axis.bottom))" stroke="#e3e3e3"/>"##
            )
            lines.append(text("\(count)", x: x, y: axis.bottom + 17, attributes: #"text-anchor="middle""#))
        }
        lines.append(
            ##"<rect class="frame" x="\##(f(Self.plotLeft))" y="\##(f(axis.top))" width="\##(f(Self.plotRight - Self.plotLeft))" height="\##(f(axis.bottom - axis.top))" fill="none" stroke="#888"/>"##
        )
        lines.append(
            text(
                title, x: 24, y: middle,
                attributes: ##"text-anchor="middle" transform="rotate(-90 24 \##(f(middle)))" fill="#444""##))
        lines.append(
            text(
                "workers (processes, log₂ scale)", x: (Self.plotLeft + Self.plotRight) / 2, y: axis.bottom + 35,
                attributes: ##"text-anchor="middle" fill="#444""##))
        return lines
    }

    private func legend(strategies: [Strategy]) -> [String] {
        var lines = [#"<g class="legend">"#]
        var y = Self.throughputPanel.top + 6
        let x = Self.legendLeft
        for strategy in strategies {
            let colour = Self.colour(of: strategy)
            lines.append(
                #"<line x1="\#(f(x))" y1="\#(f(y))" x2="\#(f(x + 26))" y2="\#(f(y))" stroke="\#(colour)" stroke-width="2"\#(Self.dashes(of: strategy))/>"#
            )
            lines.append(marker(strategy, x: x + 13, y: y, attributes: #"fill="\#(colour)""#))
            lines.append(
                text(strategy.rawValue, x: x + 34, y: y + 4, attributes: #"data-strategy="\#(strategy.rawValue)""#))
            y += 22
        }
        y += 8
        lines.append(
            ##"<circle cx="\##(f(x + 13))" cy="\##(f(y))" r="8" fill="none" stroke="#333" stroke-width="2.5"/>"##)
        lines.append(text("recommended", x: x + 34, y: y + 4))
        lines.append(
            text(
                "fewest workers within \(NumberText.percent(result.parameters.tolerance))", x: x + 34, y: y + 19,
                attributes: ##"fill="#555" font-size="11""##))
        lines.append(text("of the best median", x: x + 34, y: y + 33, attributes: ##"fill="#555" font-size="11""##))
        y += 56
        lines.append(
            ##"<path d="M\##(f(x + 9)),\##(f(y + 8))H\##(f(x + 17))M\##(f(x + 13)),\##(f(y + 8))V\##(f(y - 8))M\##(f(x + 9)),\##(f(y - 8))H\##(f(x + 17))" stroke="#333" fill="none"/>"##
        )
        lines.append(text("slowest to fastest", x: x + 34, y: y))
        lines.append(
            text(
                "of \(NumberText.count(result.parameters.repeats, "repeat"))", x: x + 34,
                y: y + 15))
        if result.points.contains(where: { !$0.auditsPassed }) {
            y += 38
            lines.append(
                #"<path d="M\#(f(x + 7)),\#(f(y - 6))L\#(f(x + 19)),\#(f(y + 6))M\#(f(x + 7)),\#(f(y + 6))L\#(f(x + 19)),\#(f(y - 6))" stroke="black" stroke-width="2"/>"#
            )
            lines.append(text("audit failed", x: x + 34, y: y + 4))
        }
        lines.append("</g>")
        return lines
    }

    /// A marker shape per strategy (circle, square, triangle, diamond), for readers who cannot tell the colours
    /// apart.
    private func marker(_ strategy: Strategy, x: Double, y: Double, attributes: String) -> String {
        switch strategy {
        case .watch:
            #"<circle \#(attributes) cx="\#(f(x))" cy="\#(f(y))" r="4"/>"#
        case .lua:
            #"<rect \#(attributes) x="\#(f(x - 3.5))" y="\#(f(y - 3.5))" width="7" height="7"/>"#
        case .decr:
            #"<path \#(attributes) d="M\#(f(x)),\#(f(y - 4.5))L\#(f(x + 4.5)),\#(f(y + 3.5))H\#(f(x - 4.5))Z"/>"#
        case .unsafe:
            #"<path \#(attributes) d="M\#(f(x)),\#(f(y - 5))L\#(f(x + 5)),\#(f(y))L\#(f(x)),\#(f(y + 5))L\#(f(x - 5)),\#(f(y))Z"/>"#
        }
    }

    /// A dash pattern per strategy, so that lines lying on one another (several strategies at 0% conflicts) all show.
    static func dashes(of strategy: Strategy) -> String {
        switch strategy {
        case .watch: ""
        case .lua: #" stroke-dasharray="9 4""#
        case .decr: #" stroke-dasharray="2 3""#
        case .unsafe: #" stroke-dasharray="10 3 2 3""#
        }
    }

    private func text(_ content: String, x: Double, y: Double, attributes: String = "") -> String {
        let extra = attributes.isEmpty ? "" : " " + attributes
        return #"<text x="\#(f(x))" y="\#(f(y))"\#(extra)>\#(Self.escaped(content))</text>"#
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Text and attribute values with XML's five special characters escaped.
    static func escaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    // MARK: Scales

    /// A value range from 0 with round tick values.
    struct AxisRange: Equatable {
        var top: Double
        var step: Double
        var ticks: [Double] { (0...Int((top / step).rounded())).map { Double($0) * step } }
    }

    /// 0 to the lowest round number at or above `max` that takes at most seven round steps (1, 2, 2.5 or 5 times a
    /// power of ten): the lines use the height of the panel, and the ticks stay apart.
    static func niceAxis(max: Double, floor: Double, ceiling: Double = .infinity) -> AxisRange {
        let span = Swift.min(Swift.max(max, floor), ceiling)
        let magnitude = pow(10, log10(span / 7).rounded(.down))
        var best = AxisRange(top: 10 * magnitude * 7, step: 10 * magnitude)
        for multiple in [1, 2, 2.5, 5, 10, 20] {
            let step = multiple * magnitude
            // A hair under, so that a max that is a whole number of steps does not round up to one more.
            let steps = (span / step * (1 - 1e-9)).rounded(.up)
            if steps <= 7, steps * step < best.top { best = AxisRange(top: steps * step, step: step) }
        }
        return best
    }

    /// A vertical axis: values from 0 to `range.top` onto pixels from `bottom` to `top`.
    struct Axis {
        var top: Double
        var bottom: Double
        var range: AxisRange
        func y(_ value: Double) -> Double { bottom - (bottom - top) * value / range.top }
    }

    /// Worker counts onto the horizontal axis, log-2.
    struct WorkerScale {
        var low: Double
        var high: Double
        var ticks: [Int]

        init(counts: [Int]) {
            let logs = counts.map { log2(Double(Swift.max($0, 1))) }
            let first = logs.min() ?? 0
            let last = logs.max() ?? 0
            // A margin keeps the end points off the frame; one count alone sits in the middle.
            low = first == last ? first - 1 : first - 0.3
            high = first == last ? last + 1 : last + 0.3
            ticks = []
            // Label every count measured, unless it would crowd the one before it.
            for count in counts.sorted() {
                if let previous = ticks.last, x(count) - x(previous) < 26 { continue }
                ticks.append(count)
            }
        }

        func x(_ count: Int) -> Double {
            SweepChart.plotLeft + (log2(Double(Swift.max(count, 1))) - low) / (high - low)
                * (SweepChart.plotRight - SweepChart.plotLeft)
        }
    }

    /// `0`, `500`, `2.5k`, `10k`, `1.5M`.
    static func rateLabel(_ value: Double) -> String {
        switch value {
        case ..<1_000: plainLabel(value)
        case ..<1_000_000: plainLabel(value / 1_000) + "k"
        default: plainLabel(value / 1_000_000) + "M"
        }
    }

    /// At most two decimals, none when they are zeros: `2.5`, `10`, `0.25`.
    static func plainLabel(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
