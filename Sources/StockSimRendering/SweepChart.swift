import Foundation
public import StockSim

/// A sweep drawn as an SVG document a person can read without the table: throughput on top, conflict rate below,
/// both against the number of workers on a log-2 axis, one line per strategy, the recommended points ringed.
///
/// The SVG is written by hand (no dependencies) and is well-formed XML. Elements carry classes and `data-`
/// attributes so that a program can find them: `g.series[data-strategy]` holds a strategy's
/// `polyline.throughput` and `polyline.conflict-rate`; `circle.recommended[data-strategy][data-workers]` rings a
/// recommended point on each panel. Every mark stays inside its panel's frame (`rect.frame[data-panel]`), clear of the
/// tick labels (`text.tick`). Series that lie on one another on a panel (lua, decr and unsafe all at 0% conflicts)
/// stay readable: their lines are drawn in decreasing widths so that each shows beside the next, their markers are set
/// apart sideways, and the legend says which overlap (`text.overlap`). A sweep that did not measure every point says
/// it is partial in its title (`text.partial`).
public struct SweepChart: Sendable {
    public var result: SweepResult

    public init(_ result: SweepResult) {
        self.result = result
    }

    static let width = 900.0
    private static let height = 650.0
    static let plotLeft = 90.0
    static let plotRight = 660.0
    static let legendLeft = 690.0
    private static let throughputPanel = (top: 86.0, bottom: 326.0)
    private static let conflictPanel = (top: 416.0, bottom: 596.0)
    /// How far apart sideways the markers of overlapping series are set, centre to centre.
    static let dodge = 11.0
    /// Space between a panel's frame and the nearest point a value can take: more than a recommended ring's radius
    /// and half its stroke (and, sideways, the widest dodge of four overlapping series), so that no ring or marker
    /// reaches the frame or the tick labels beyond it.
    static let inset = (vertical: 14.0, horizontal: 28.0)

    /// Okabe–Ito colours, which stay apart for the common kinds of colour blindness; fixed per strategy so that
    /// charts of different sweeps agree.
    static func colour(of strategy: Strategy) -> String {
        switch strategy {
        case .watch: "#0072B2"
        case .lua: "#D55E00"
        case .decr: "#009E73"
        case .unsafe, .script, .command: "#CC79A7"
        }
    }

    /// The SVG document: with `--rate LIST`, the corrected p99 against the rate (``rateSVG()``).
    public func svg() -> String {
        if result.parameters.rates != nil { return rateSVG() }
        let parameters = result.parameters
        let plotted = result.points.filter { $0.aggregate != nil }
        let workerCounts = Set(plotted.map(\.workers)).sorted()
        // A margin keeps the end points off the frame.
        let scale = LogAxis(
            values: (workerCounts.isEmpty ? parameters.workerCounts : workerCounts).map(Double.init),
            margin: .fixed(0.3), minimumTickGap: 26)
        let salesTop = Self.niceAxis(max: plotted.compactMap { $0.aggregate?.salesPerSecond.max }.max() ?? 0, floor: 1)
        let conflictTop = Self.niceAxis(
            max: (plotted.compactMap { $0.aggregate?.conflictRate }.max() ?? 0) * 100, floor: 1, ceiling: 100)
        let sales = Axis(top: Self.throughputPanel.top, bottom: Self.throughputPanel.bottom, range: salesTop)
        let conflicts = Axis(top: Self.conflictPanel.top, bottom: Self.conflictPanel.bottom, range: conflictTop)
        // One series per strategy, and per master count when the sweep compares them.
        let masterCounts: [Int?] = parameters.clusterMasters?.map(Optional.some) ?? [nil]
        let keys = parameters.strategies.flatMap { strategy in masterCounts.map { (strategy: strategy, masters: $0) } }
        let names = keys.map { key in
            key.strategy.rawValue + (key.masters.map { " (\(NumberText.count($0, "master")))" } ?? "")
        }
        let series = keys.map { key in
            plotted.filter { $0.strategy == key.strategy && $0.masters == key.masters }.sorted {
                $0.workers < $1.workers
            }
        }
        func vertices(_ value: (SweepAggregate) -> Double, _ axis: Axis) -> [[Vertex]] {
            series.map { points in
                points.compactMap { point in
                    point.aggregate.map {
                        Vertex(workers: point.workers, x: scale.x(Double(point.workers)), y: axis.y(value($0)))
                    }
                }
            }
        }
        let throughput = Overlaps(vertices(\.salesPerSecond.median, sales))
        let conflictRate = Overlaps(vertices({ $0.conflictRate * 100 }, conflicts))

        var svg: [String] = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(Self.width))" height="\#(Int(Self.height))" viewBox="0 0 \#(Int(Self.width)) \#(Int(Self.height))" font-family="Helvetica, Arial, sans-serif" font-size="12">"#,
            "<title>\(Self.escaped(partial.map { "StockSim sweep (partial: \($0)): " } ?? "StockSim sweep: "))sales per second and conflict rate by number of workers</title>",
            #"<rect width="100%" height="100%" fill="white"/>"#,
        ]
        let server = result.target
        if let partial {
            svg.append(
                text(
                    "StockSim sweep (partial)", x: Self.plotLeft, y: 28,
                    attributes: #"font-size="17" font-weight="bold""#))
            svg.append(
                text(
                    "partial: \(partial)", x: Self.plotLeft + 215, y: 28,
                    attributes: ##"class="partial" font-size="13" fill="#B00020""##))
        } else {
            svg.append(
                text("StockSim sweep", x: Self.plotLeft, y: 28, attributes: #"font-size="17" font-weight="bold""#))
        }
        svg.append(
            text(
                "\(NumberText.count(parameters.stock, "unit")) per run, key \(parameters.key), \(NumberText.count(parameters.repeats, "repeat")) per point, \(server)",
                x: Self.plotLeft, y: 48, attributes: ##"fill="#444""##))

        // Panels: frame, grid, ticks, titles.
        svg.append(
            text(
                "Throughput: median sales per second (bars: slowest to fastest repeat)", x: Self.plotLeft,
                y: sales.top - 12, attributes: #"font-size="13" font-weight="bold""#))
        svg += panel(
            "throughput", axis: sales, scale: scale, label: Self.rateLabel, title: "sales per second (units/s)")
        svg.append(
            text(
                "Conflict rate: conflicts per attempt (%)", x: Self.plotLeft, y: conflicts.top - 12,
                attributes: #"font-size="13" font-weight="bold""#))
        svg += panel(
            "conflict-rate", axis: conflicts, scale: scale, label: { Self.plainLabel($0) + "%" },
            title: "conflicts per attempt (%)")

        for (index, key) in keys.enumerated() {
            let strategy = key.strategy
            let points = series[index]
            let colour = Self.colour(of: strategy)
            let mastersAttribute = key.masters.map { #" data-masters="\#($0)""# } ?? ""
            svg.append(
                #"<g class="series" data-strategy="\#(strategy.rawValue)"\#(mastersAttribute) stroke="\#(colour)" fill="\#(colour)">"#
            )
            for (panel, overlaps) in [("throughput", throughput), ("conflict-rate", conflictRate)] {
                let line = overlaps.vertices[index].map { "\(f($0.x)),\(f($0.y))" }
                let others = overlaps.others(of: index).map { names[$0] }
                let overlapping = others.isEmpty ? "" : #" data-overlaps="\#(others.joined(separator: " "))""#
                svg.append(
                    #"<polyline class="\#(panel)" points="\#(line.joined(separator: " "))" fill="none" stroke-width="\#(f(overlaps.width(of: index)))"\#(Self.dashes(of: strategy))\#(overlapping)/>"#
                )
            }
            for point in points {
                guard let figures = point.aggregate else { continue }
                let x = scale.x(Double(point.workers))
                let salesX = x + throughput.offset(of: index, at: point.workers)
                let low = sales.y(figures.salesPerSecond.min)
                let high = sales.y(figures.salesPerSecond.max)
                svg.append(
                    #"<path class="spread" d="M\#(f(salesX - 4)),\#(f(low))H\#(f(salesX + 4))M\#(f(salesX)),\#(f(low))V\#(f(high))M\#(f(salesX - 4)),\#(f(high))H\#(f(salesX + 4))" fill="none" stroke-width="1.2" opacity="0.7"/>"#
                )
                let attributes = #"class="point" data-workers="\#(point.workers)" stroke="none""#
                svg.append(
                    marker(
                        strategy, x: salesX, y: sales.y(figures.salesPerSecond.median),
                        attributes: attributes + #" data-panel="throughput""#))
                svg.append(
                    marker(
                        strategy, x: x + conflictRate.offset(of: index, at: point.workers),
                        y: conflicts.y(figures.conflictRate * 100),
                        attributes: attributes + #" data-panel="conflict-rate""#))
                if !point.auditsPassed {
                    let y = sales.y(figures.salesPerSecond.median)
                    svg.append(
                        #"<path class="audit-failed" d="M\#(f(salesX - 6)),\#(f(y - 6))L\#(f(salesX + 6)),\#(f(y + 6))M\#(f(salesX - 6)),\#(f(y + 6))L\#(f(salesX + 6)),\#(f(y - 6))" stroke="black" stroke-width="2"/>"#
                    )
                }
            }
            if let recommendation = result.recommendation(for: strategy, masters: key.masters),
                let figures = points.first(where: { $0.workers == recommendation.workers })?.aggregate
            {
                let x = scale.x(Double(recommendation.workers))
                let salesX = x + throughput.offset(of: index, at: recommendation.workers)
                let salesY = sales.y(figures.salesPerSecond.median)
                for (panel, cx, cy) in [
                    ("throughput", salesX, salesY),
                    (
                        "conflict-rate", x + conflictRate.offset(of: index, at: recommendation.workers),
                        conflicts.y(figures.conflictRate * 100)
                    ),
                ] {
                    svg.append(
                        #"<circle class="recommended" data-strategy="\#(strategy.rawValue)" data-workers="\#(recommendation.workers)" data-panel="\#(panel)" cx="\#(f(cx))" cy="\#(f(cy))" r="\#(f(Self.ringRadius))" fill="none" stroke-width="\#(f(Self.ringStroke))"/>"#
                    )
                }
                // Above and right of the ring, or below it near the top of the panel, or left of it near the right
                // edge: never out of the frame.
                let above = salesY - 9 - 12 > sales.top
                let right = salesX + 8 + 20 < Self.plotRight
                svg.append(
                    text(
                        "\(recommendation.workers)", x: right ? salesX + 8 : salesX - 8,
                        y: above ? salesY - 9 : salesY + 19,
                        attributes:
                            #"class="recommended-label" font-weight="bold" stroke="none"\#(right ? "" : #" text-anchor="end""#)"#
                    ))
            }
            svg.append("</g>")
        }

        svg += legend(
            strategies: parameters.strategies, seriesNames: names,
            overlaps: [("sales per second", throughput), ("conflict rate", conflictRate)])
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    /// A recommended point's ring.
    static let ringRadius = 8.0
    static let ringStroke = 2.5

    /// What the sweep did not measure, when it did not measure every point: `3 of 8 points, interrupted`.
    var partial: String? {
        let parameters = result.parameters
        let planned =
            parameters.strategies.count * parameters.workerCounts.count * max(1, parameters.rates?.count ?? 0)
            * max(1, parameters.clusterMasters?.count ?? 0)
        let measured = result.points.filter { $0.aggregate != nil }.count
        guard result.interrupted || !result.completed || measured < planned else { return nil }
        let why = result.interrupted ? "interrupted" : result.completed ? nil : "a run failed"
        return "\(measured) of \(NumberText.count(planned, "point")) measured" + (why.map { ", \($0)" } ?? "")
    }

    /// A grid line up from each of `scale`'s ticks, between `top` and `bottom`, and its label below.
    func verticalGrid(_ scale: LogAxis, top: Double, bottom: Double, label: (Double) -> String) -> [String] {
        scale.ticks.flatMap { tick in
            let x = scale.x(tick)
            return [
                ##"<line class="grid" x1="\##(f(x))" y1="\##(f(top))" x2="\##(f(x))" y2="\##(f(bottom))" stroke="#e3e3e3"/>"##,
                text(label(tick), x: x, y: bottom + 17, attributes: #"class="tick" text-anchor="middle""#),
            ]
        }
    }

    /// The frame, grid lines, tick labels and axis titles of one panel.
    private func panel(
        _ name: String, axis: Axis, scale: LogAxis, label: (Double) -> String, title: String
    ) -> [String] {
        var lines: [String] = []
        let middle = (axis.top + axis.bottom) / 2
        for value in axis.range.ticks {
            let y = axis.y(value)
            lines.append(
                ##"<line class="grid" x1="\##(f(Self.plotLeft))" y1="\##(f(y))" x2="\##(f(Self.plotRight))" y2="\##(f(y))" stroke="#e3e3e3"/>"##
            )
            lines.append(
                text(label(value), x: Self.plotLeft - 8, y: y + 4, attributes: #"class="tick" text-anchor="end""#))
        }
        lines += verticalGrid(scale, top: axis.top, bottom: axis.bottom) { "\(Int($0))" }
        lines.append(
            ##"<rect class="frame" data-panel="\##(name)" x="\##(f(Self.plotLeft))" y="\##(f(axis.top))" width="\##(f(Self.plotRight - Self.plotLeft))" height="\##(f(axis.bottom - axis.top))" fill="none" stroke="#888"/>"##
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

    /// The legend's key of each strategy, its line and marker as the series draw them, one under another from `y`;
    /// `y` is left below the last.
    func strategyKeys(_ strategies: [Strategy], y: inout Double) -> [String] {
        let x = Self.legendLeft
        var lines: [String] = []
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
        return lines
    }

    private func legend(
        strategies: [Strategy], seriesNames: [String], overlaps panels: [(name: String, overlaps: Overlaps)]
    ) -> [String] {
        var lines = [#"<g class="legend">"#]
        var y = Self.throughputPanel.top + 6
        let x = Self.legendLeft
        lines += strategyKeys(strategies, y: &y)
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
        // Which series lie on one another, and where: a reader who sees one line knows the others are under it.
        for (name, overlaps) in panels {
            for group in overlaps.groups {
                y += 30
                let names = group.map { seriesNames[$0] }
                lines.append(
                    text(
                        "\(Self.list(names)) overlap", x: x, y: y,
                        attributes:
                            ##"class="overlap" data-strategies="\##(names.joined(separator: " "))" font-size="11""##))
                lines.append(
                    text(
                        "on \(name); markers set apart", x: x, y: y + 14, attributes: ##"fill="#555" font-size="11""##))
            }
        }
        lines.append("</g>")
        return lines
    }

    /// A marker shape per strategy (circle, square, triangle, diamond), for readers who cannot tell the colours
    /// apart.
    func marker(_ strategy: Strategy, x: Double, y: Double, attributes: String) -> String {
        switch strategy {
        case .watch:
            #"<circle \#(attributes) cx="\#(f(x))" cy="\#(f(y))" r="4"/>"#
        case .lua:
            #"<rect \#(attributes) x="\#(f(x - 3.5))" y="\#(f(y - 3.5))" width="7" height="7"/>"#
        case .decr:
            #"<path \#(attributes) d="M\#(f(x)),\#(f(y - 4.5))L\#(f(x + 4.5)),\#(f(y + 3.5))H\#(f(x - 4.5))Z"/>"#
        case .unsafe, .script, .command:
            #"<path \#(attributes) d="M\#(f(x)),\#(f(y - 5))L\#(f(x + 5)),\#(f(y))L\#(f(x)),\#(f(y + 5))L\#(f(x - 5)),\#(f(y))Z"/>"#
        }
    }

    /// `lua`, `lua and decr`, `lua, decr and unsafe`.
    static func list(_ names: [String]) -> String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names[names.count - 1]
    }

    /// A dash pattern per strategy, so that lines lying on one another (several strategies at 0% conflicts) all show.
    static func dashes(of strategy: Strategy) -> String {
        switch strategy {
        case .watch: ""
        case .lua: #" stroke-dasharray="9 4""#
        case .decr: #" stroke-dasharray="2 3""#
        case .unsafe, .script, .command: #" stroke-dasharray="10 3 2 3""#
        }
    }

    func text(_ content: String, x: Double, y: Double, attributes: String = "") -> String {
        let extra = attributes.isEmpty ? "" : " " + attributes
        return #"<text x="\#(f(x))" y="\#(f(y))"\#(extra)>\#(Self.escaped(content))</text>"#
    }

    func f(_ value: Double) -> String { String(format: "%.1f", value) }

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

    // MARK: Overlaps

    /// A point of a series where it is drawn.
    struct Vertex {
        var workers: Int
        var x: Double
        var y: Double
    }

    /// The series of one panel and which of them lie on one another: a series overlaps another when they share
    /// a worker count and, at every count they share, their points are closer than a marker's size.
    struct Overlaps {
        /// Per series, its points on this panel.
        var vertices: [[Vertex]]
        /// Groups of two or more series (indices, in the order given) that overlap.
        var groups: [[Int]] = []

        /// Closer than this (pixels) and two points cover each other.
        static let near = 6.0

        init(_ vertices: [[Vertex]]) {
            self.vertices = vertices
            var grouped: Set<Int> = []
            for first in vertices.indices where !grouped.contains(first) {
                let group =
                    [first] + vertices.indices.filter { $0 > first && !grouped.contains($0) && overlap(first, $0) }
                guard group.count > 1 else { continue }
                groups.append(group)
                grouped.formUnion(group)
            }
        }

        private func overlap(_ a: Int, _ b: Int) -> Bool {
            var shared = 0
            for vertex in vertices[a] {
                guard let other = vertices[b].first(where: { $0.workers == vertex.workers }) else { continue }
                guard abs(other.y - vertex.y) < Self.near else { return false }
                shared += 1
            }
            return shared > 0
        }

        private func group(of series: Int) -> [Int]? { groups.first { $0.contains(series) } }

        /// The other series that lie on `series`.
        func others(of series: Int) -> [Int] { group(of: series)?.filter { $0 != series } ?? [] }

        /// The width of a series' line: in a group, the first drawn is the widest and each next one narrower, so that
        /// every one shows as a band beside the one on top of it.
        func width(of series: Int) -> Double {
            guard let group = group(of: series), let place = group.firstIndex(of: series) else { return 2 }
            return 2 + 2.5 * Double(group.count - 1 - place)
        }

        /// How far sideways a series' marker at `workers` is set from the true point: apart from every other series'
        /// marker near it there (in its group or not: watch at 1 worker sits at 0% too), centred on the true point.
        func offset(of series: Int, at workers: Int) -> Double {
            guard let mine = vertices[series].first(where: { $0.workers == workers }) else { return 0 }
            let near = vertices.indices.filter { other in
                vertices[other].contains { $0.workers == workers && abs($0.y - mine.y) < Self.near }
            }
            guard near.count > 1, let place = near.firstIndex(of: series) else { return 0 }
            return (Double(place) - Double(near.count - 1) / 2) * SweepChart.dodge
        }
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
        func y(_ value: Double) -> Double {
            let low = bottom - SweepChart.inset.vertical
            let high = top + SweepChart.inset.vertical
            return low - (low - high) * value / range.top
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
