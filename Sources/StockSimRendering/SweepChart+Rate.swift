import Foundation
import StockSim

/// The chart of a sweep over open-loop rates (`stocksim sweep --rate LIST`): the corrected p99 against the rate, both
/// on log scales, one line per strategy and worker count (and master count), the p99 target as a horizontal line and
/// the highest rate under it ringed.
///
/// Elements a program can find: `polyline.p99[data-strategy][data-workers]` per series; `.point[data-rate]
/// [data-p99-us][data-meets]` per measured point (filled when it met the target, hollow when it missed);
/// `line.p99-target[data-us]`; `circle.highest-rate[data-strategy][data-workers][data-rate]` per finding; and
/// `text.finding[data-verdict]`, one line per finding in words, below the plot.
extension SweepChart {
    private static let rateTop = 86.0
    private static let rateBottom = 486.0

    /// The SVG document of a sweep over rates.
    func rateSVG() -> String {
        let parameters = result.parameters
        let target = parameters.p99TargetUs
        let plotted = result.points.filter { $0.rate != nil && $0.aggregate?.correctedLatencyP99Us != nil }
        let rates = Set(plotted.compactMap(\.rate)).sorted()
        let rateScale = LogAxis(
            values: rates.isEmpty ? parameters.rates ?? [1] : rates, margin: .spanFraction(0.15), minimumTickGap: 34)
        let latencies = plotted.compactMap { $0.aggregate?.correctedLatencyP99Us } + (target.map { [$0] } ?? [])
        let latency = LatencyScale(
            values: latencies, top: Self.rateTop + Self.inset.vertical, bottom: Self.rateBottom - Self.inset.vertical)
        let masterCounts: [Int?] = parameters.clusterMasters?.map(Optional.some) ?? [nil]
        let keys = parameters.strategies.flatMap { strategy in
            parameters.workerCounts.flatMap { workers in
                masterCounts.map { (strategy: strategy, workers: workers, masters: $0) }
            }
        }
        .filter { key in
            plotted.contains { $0.strategy == key.strategy && $0.workers == key.workers && $0.masters == key.masters }
        }
        let findings = result.rateFindings ?? []
        let height = Self.rateBottom + 78 + 17 * Double(findings.count)

        var svg: [String] = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(Self.width))" height="\#(Int(height))" viewBox="0 0 \#(Int(Self.width)) \#(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">"#,
            "<title>\(Self.escaped(partial.map { "StockSim sweep (partial: \($0)): " } ?? "StockSim sweep: "))corrected p99 latency by open-loop rate</title>",
            #"<rect width="100%" height="100%" fill="white"/>"#,
            text(
                partial == nil ? "StockSim sweep" : "StockSim sweep (partial)", x: Self.plotLeft, y: 28,
                attributes: #"font-size="17" font-weight="bold""#),
        ]
        if let partial {
            svg.append(
                text(
                    "partial: \(partial)", x: Self.plotLeft + 215, y: 28,
                    attributes: ##"class="partial" font-size="13" fill="#B00020""##))
        }
        svg.append(
            text(
                "\(NumberText.count(parameters.stock, "unit")) per run, key \(parameters.key), \(NumberText.count(parameters.repeats, "repeat")) per point, \(parameters.arrival?.rawValue ?? "constant") arrivals, \(result.target)",
                x: Self.plotLeft, y: 48, attributes: ##"fill="#444""##))
        svg.append(
            text(
                "Corrected p99 latency (from when each order was due) by rate, median over the repeats",
                x: Self.plotLeft, y: Self.rateTop - 12, attributes: #"font-size="13" font-weight="bold""#))

        // Frame, grid, ticks, axis titles.
        for (value, y) in latency.ticks {
            svg.append(
                ##"<line class="grid" x1="\##(f(Self.plotLeft))" y1="\##(f(y))" x2="\##(f(Self.plotRight))" y2="\##(f(y))" stroke="#e3e3e3"/>"##
            )
            svg.append(
                text(
                    Self.latencyLabel(value), x: Self.plotLeft - 8, y: y + 4,
                    attributes: #"class="tick" text-anchor="end""#))
        }
        svg += verticalGrid(rateScale, top: Self.rateTop, bottom: Self.rateBottom, label: SweepRateFinding.rateText)
        svg.append(
            ##"<rect class="frame" data-panel="p99" x="\##(f(Self.plotLeft))" y="\##(f(Self.rateTop))" width="\##(f(Self.plotRight - Self.plotLeft))" height="\##(f(Self.rateBottom - Self.rateTop))" fill="none" stroke="#888"/>"##
        )
        let middle = (Self.rateTop + Self.rateBottom) / 2
        svg.append(
            text(
                "corrected p99 latency (log scale)", x: 24, y: middle,
                attributes: ##"text-anchor="middle" transform="rotate(-90 24 \##(f(middle)))" fill="#444""##))
        svg.append(
            text(
                "rate asked for (orders per second, log scale)", x: (Self.plotLeft + Self.plotRight) / 2,
                y: Self.rateBottom + 35, attributes: ##"text-anchor="middle" fill="#444""##))

        if let target {
            let y = latency.y(target)
            svg.append(
                ##"<line class="p99-target" data-us="\##(f(target))" x1="\##(f(Self.plotLeft))" y1="\##(f(y))" x2="\##(f(Self.plotRight))" y2="\##(f(y))" stroke="#B00020" stroke-width="1.5" stroke-dasharray="6 4"/>"##
            )
            svg.append(
                text(
                    "target \(NumberText.micros(target))", x: Self.plotRight - 6, y: y - 6,
                    attributes: ##"class="p99-target-label" text-anchor="end" fill="#B00020""##))
        }

        // One series per strategy and worker count; worker counts of one strategy share its colour and marker and
        // are told apart by their width and the label at the line's end.
        for key in keys {
            let points = plotted.filter {
                $0.strategy == key.strategy && $0.workers == key.workers && $0.masters == key.masters
            }
            .sorted { ($0.rate ?? 0) < ($1.rate ?? 0) }
            let colour = Self.colour(of: key.strategy)
            let mastersAttribute = key.masters.map { #" data-masters="\#($0)""# } ?? ""
            let place = #"data-strategy="\#(key.strategy.rawValue)" data-workers="\#(key.workers)"\#(mastersAttribute)"#
            let width = 2 + Double(parameters.workerCounts.firstIndex(of: key.workers) ?? 0)
            svg.append(#"<g class="series" \#(place) stroke="\#(colour)" fill="\#(colour)">"#)
            let vertices = points.compactMap { point -> (Double, Double, SweepPoint)? in
                guard let rate = point.rate, let p99 = point.aggregate?.correctedLatencyP99Us else { return nil }
                return (rateScale.x(rate), latency.y(p99), point)
            }
            svg.append(
                #"<polyline class="p99" \#(place) points="\#(vertices.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))" fill="none" stroke-width="\#(f(width))"\#(Self.dashes(of: key.strategy))/>"#
            )
            for (x, y, point) in vertices {
                let p99 = point.aggregate?.correctedLatencyP99Us ?? 0
                let meets = SweepRateFinding.meets(point, p99TargetUs: target)
                let meetsAttribute = meets.map { #" data-meets="\#($0)""# } ?? ""
                svg.append(
                    marker(
                        key.strategy, x: x, y: y,
                        attributes:
                            #"class="point" data-rate="\#(SweepCSV.number(point.rate ?? 0))" data-p99-us="\#(f(p99))"\#(meetsAttribute) stroke-width="1.5"\#(meets == false ? #" fill="white""# : "")"#
                    ))
            }
            if let last = vertices.last {
                let label = "\(key.workers)w" + (key.masters.map { "/\($0)m" } ?? "")
                svg.append(
                    text(
                        label, x: last.0 + 8, y: last.1 + 4,
                        attributes: #"class="series-label" stroke="none" font-size="11""#))
            }
            if let finding = result.rateFinding(for: key.strategy, workers: key.workers, masters: key.masters),
                let rate = finding.highestRate, let p99 = finding.highestRateP99Us
            {
                svg.append(
                    #"<circle class="highest-rate" \#(place) data-rate="\#(SweepCSV.number(rate))" cx="\#(f(rateScale.x(rate)))" cy="\#(f(latency.y(p99)))" r="\#(f(Self.ringRadius))" fill="none" stroke-width="\#(f(Self.ringStroke))"/>"#
                )
            }
            svg.append("</g>")
        }

        // Legend: a line per strategy, the ring, the hollow marker.
        var y = Self.rateTop + 6
        let x = Self.legendLeft
        svg.append(#"<g class="legend">"#)
        svg += strategyKeys(parameters.strategies, y: &y)
        svg.append(text("Nw: N workers (wider: more)", x: x, y: y + 4, attributes: ##"fill="#555" font-size="11""##))
        if target != nil {
            y += 30
            svg.append(
                ##"<circle cx="\##(f(x + 13))" cy="\##(f(y))" r="8" fill="none" stroke="#333" stroke-width="2.5"/>"##)
            svg.append(text("highest rate", x: x + 34, y: y + 4))
            svg.append(text("under the target", x: x + 34, y: y + 19, attributes: ##"fill="#555" font-size="11""##))
            y += 40
            svg.append(
                ##"<circle cx="\##(f(x + 13))" cy="\##(f(y))" r="4" fill="white" stroke="#333" stroke-width="1.5"/>"##)
            svg.append(text("missed the target", x: x + 34, y: y + 4))
        }
        svg.append("</g>")

        // The findings in words, below the plot.
        var line = Self.rateBottom + 62
        if let target {
            svg.append(
                text(
                    "Highest rate whose corrected p99 meets \(NumberText.micros(target)):", x: Self.plotLeft, y: line,
                    attributes: #"font-weight="bold""#))
            for finding in findings {
                line += 17
                svg.append(
                    text(
                        finding.description, x: Self.plotLeft + 12, y: line,
                        attributes: #"class="finding" data-verdict="\#(finding.verdict.rawValue)""#))
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    /// `500 µs`, `2 ms`, `1 s` for a tick in microseconds.
    static func latencyLabel(_ value: Double) -> String {
        switch value {
        case ..<1_000: plainLabel(value) + " µs"
        case ..<1_000_000: plainLabel(value / 1_000) + " ms"
        default: plainLabel(value / 1_000_000) + " s"
        }
    }

    /// Latencies (microseconds) onto the vertical axis, log-10, from the decade at or below the smallest value to
    /// the decade at or above the largest; ticks at 1, 2 and 5 times each power of ten.
    struct LatencyScale {
        var low: Double
        var high: Double
        var top: Double
        var bottom: Double

        init(values: [Double], top: Double, bottom: Double) {
            let positive = values.filter { $0 > 0 }
            let smallest = positive.min() ?? 100
            let largest = positive.max() ?? 10_000
            low = log10(smallest).rounded(.down)
            high = Swift.max(log10(largest).rounded(.up), low + 1)
            self.top = top
            self.bottom = bottom
        }

        func y(_ value: Double) -> Double {
            let position = (log10(Swift.max(value, 1e-3)) - low) / (high - low)
            return bottom - Swift.min(Swift.max(position, 0), 1) * (bottom - top)
        }

        /// The tick values and where they are drawn.
        var ticks: [(Double, Double)] {
            let decades = Int(high - low)
            let multiples: [Double] = decades > 3 ? [1] : [1, 2, 5]
            var ticks: [(Double, Double)] = []
            for decade in Int(low)...Int(high) {
                for multiple in multiples {
                    let value = multiple * pow(10, Double(decade))
                    guard log10(value) <= high + 1e-9 else { continue }
                    ticks.append((value, y(value)))
                }
            }
            return ticks
        }
    }
}
