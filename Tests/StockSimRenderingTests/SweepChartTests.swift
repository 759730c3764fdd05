import Foundation
import StockSim
import StockSimTestSupport
import Testing

@testable import StockSimRendering

/// Issue 10, class 7: the sweep chart stays readable where series lie on one another, keeps its marks off the tick
/// labels, and says when the sweep is partial. The checks read the SVG's geometry, not its source text.
@Suite("sweep chart geometry")
struct SweepChartTests {
    /// lua, decr and unsafe at 0% conflicts on 1…64 workers (and apart on throughput), watch with conflicts from 2
    /// workers on (at 1 it has none either).
    static func overlapping() -> SweepResult {
        let counts = [1, 2, 4, 8, 16, 32, 64]
        let configuration = SweepConfiguration(
            workerCounts: counts, strategies: [.watch, .lua, .decr, .unsafe], repeats: 3,
            base: SimulationConfiguration(initialStock: 20_000, seed: 7))
        var points: [SweepPoint] = []
        for (index, workers) in counts.enumerated() {
            let scale = Double(index + 1)
            points.append(SweepFixture.point(.watch, workers, 9_000 - 800 * scale, conflicts: 0.1 * (scale - 1)))
            points.append(SweepFixture.point(.lua, workers, 10_000 * scale))
            points.append(SweepFixture.point(.decr, workers, 14_000 * scale))
            points.append(SweepFixture.point(.unsafe, workers, 18_000 * scale))
        }
        return SweepResult(
            parameters: SweepParameters(configuration), redis: "r", embedded: true, points: points)
    }

    @Test func seriesThatLieOnOneAnotherStayApart() throws {
        let svg = try SVGDocument(SweepChart(Self.overlapping()).svg())
        let lines = svg.elements.filter { $0.name == "polyline" && $0.attributes["class"] == "conflict-rate" }
        #expect(lines.count == 4)
        // lua, decr and unsafe draw the same line at 0%: each has a style of its own, and says what it lies on.
        let coincident = lines.filter { $0.attributes["data-overlaps"] != nil }
        #expect(coincident.count == 3, "\(lines.map(\.attributes))")
        #expect(Set(coincident.compactMap { $0.attributes["points"] }).count == 1, "the same line, truly")
        let styles = coincident.map {
            "\($0.attributes["stroke-width"] ?? "")|\($0.attributes["stroke-dasharray"] ?? "")"
        }
        #expect(Set(styles).count == 3, "\(styles)")
        #expect(Set(coincident.compactMap { $0.attributes["stroke-width"] }).count == 3, "widths nest: each shows")
        // Their markers at one worker count: distinct shapes, none covering another (watch's too, at 1 worker).
        for (workers, atZero) in [("1", 4), ("8", 3), ("64", 3)] {
            let markers = svg.elements.filter {
                $0.attributes["class"] == "point" && $0.attributes["data-panel"] == "conflict-rate"
                    && $0.attributes["data-workers"] == workers
            }
            #expect(markers.count == 4)
            let boxes = markers.compactMap(Box.init)
            #expect(boxes.count == 4)
            let zero = boxes.filter { abs($0.midY - boxes.map(\.midY).max()!) < 2 }
            #expect(zero.count == atZero, "markers at 0%")
            #expect(Set(markers.map(Self.shape)).count == 4, "a shape per strategy")
            for (index, box) in zero.enumerated() {
                for other in zero[(index + 1)...] {
                    #expect(!box.intersects(other), "\(box) covers \(other) at \(workers) workers")
                }
            }
        }
        // The legend says which overlap, and where.
        let note = try #require(svg.elements.first { $0.attributes["class"] == "overlap" })
        #expect(note.attributes["data-strategies"] == "lua decr unsafe")
        #expect(svg.texts.contains("lua, decr and unsafe overlap"))
        #expect(svg.texts.contains("on conflict rate; markers set apart"))
        // Apart on throughput: nothing said, nothing moved.
        let throughput = svg.elements.filter { $0.name == "polyline" && $0.attributes["class"] == "throughput" }
        #expect(
            throughput.allSatisfy { $0.attributes["data-overlaps"] == nil && $0.attributes["stroke-width"] == "2.0" })
        #expect(!svg.texts.contains { $0.contains("on sales per second") })
    }

    @Test func seriesApartAreNotCalledOverlapping() throws {
        let svg = try SVGDocument(SweepChart(SweepFixture.result()).svg())
        #expect(svg.elements.allSatisfy { $0.attributes["data-overlaps"] == nil })
        #expect(!svg.texts.contains { $0.contains("overlap") })
    }

    @Test(arguments: [false, true])
    func marksStayInsideTheirPanelAndOffTheTickLabels(overlapping: Bool) throws {
        // The fixture's lua is recommended at 0% conflicts: its ring sits on the bottom of the panel's value range.
        let result = overlapping ? Self.overlapping() : SweepFixture.result()
        let svg = try SVGDocument(SweepChart(result).svg())
        var frames: [String: Box] = [:]
        for frame in svg.elements where frame.attributes["class"] == "frame" {
            let box = try #require(Box(frame))
            frames[try #require(frame.attributes["data-panel"])] = box
        }
        #expect(frames.count == 2)
        let ticks = svg.elements.filter { $0.attributes["class"] == "tick" }.compactMap(Box.init)
        #expect(ticks.count > 10)
        let marks = svg.elements.filter {
            ["point", "recommended"].contains($0.attributes["class"] ?? "") && $0.attributes["data-panel"] != nil
        }
        #expect(marks.count > 20)
        #expect(marks.contains { $0.attributes["class"] == "recommended" })
        for mark in marks {
            let box = try #require(Box(mark), "\(mark.attributes)")
            let frame = try #require(frames[mark.attributes["data-panel"] ?? ""])
            #expect(frame.contains(box), "\(mark.name) \(mark.attributes) reaches out of its frame \(frame)")
            for tick in ticks {
                #expect(!tick.intersects(box), "\(mark.attributes) covers a tick label at \(tick)")
            }
        }
        for label in svg.elements where label.attributes["class"] == "recommended-label" {
            let box = try #require(Box(label))
            #expect(frames["throughput"]?.contains(box) == true, "label \(box) outside the throughput panel")
        }
    }

    @Test func aPartialSweepSaysItIsPartial() throws {
        var interrupted = SweepFixture.result()
        interrupted.points.removeLast(3)
        interrupted.interrupted = true
        interrupted.completed = false
        let failed = SweepResult(
            parameters: SweepFixture.result().parameters, redis: "r", embedded: true,
            points: Array(SweepFixture.result().points.prefix(9))
                + [SweepPoint(strategy: .lua, workers: 4, aggregate: nil)],
            completed: false, incompleteReason: "a worker stopped")
        for (result, words) in [
            (interrupted, "partial: 11 of 14 points measured, interrupted"),
            (failed, "partial: 9 of 14 points measured, a run failed"),
        ] {
            let source = SweepChart(result).svg()
            let svg = try SVGDocument(source)
            #expect(svg.texts.contains("StockSim sweep (partial)"))
            let note = try #require(svg.elements.first { $0.attributes["class"] == "partial" })
            #expect(note.name == "text")
            #expect(svg.texts.contains(words), "\(svg.texts.prefix(3))")
            #expect(
                source.contains("<title>StockSim sweep (partial: \(words.dropFirst(9))): "), "the <title> says so too")
        }
        let whole = try SVGDocument(SweepChart(SweepFixture.result()).svg())
        #expect(!whole.texts.contains { $0.localizedCaseInsensitiveContains("partial") })
        #expect(whole.elements.allSatisfy { $0.attributes["class"] != "partial" })
    }

    /// A marker's shape: its element name, and for a path, its commands.
    static func shape(_ element: SVGDocument.Element) -> String {
        element.name + (element.attributes["d"]?.filter(\.isLetter) ?? "")
    }
}

/// The box an SVG element covers, from its attributes: a rect, a circle (with half its stroke), a path of M, L, H,
/// V and Z, or a text (estimated from its font size and length, by its anchor).
struct Box: CustomStringConvertible {
    var minX: Double
    var minY: Double
    var maxX: Double
    var maxY: Double
    var midY: Double { (minY + maxY) / 2 }
    var description: String { "(\(minX), \(minY))–(\(maxX), \(maxY))" }

    init(minX: Double, minY: Double, maxX: Double, maxY: Double) {
        (self.minX, self.minY, self.maxX, self.maxY) = (minX, minY, maxX, maxY)
    }

    init?(_ element: SVGDocument.Element) {
        let a = element.attributes
        func number(_ name: String) -> Double? { a[name].flatMap(Double.init) }
        switch element.name {
        case "rect":
            guard let x = number("x"), let y = number("y"), let w = number("width"), let h = number("height") else {
                return nil
            }
            self.init(minX: x, minY: y, maxX: x + w, maxY: y + h)
        case "circle":
            guard let x = number("cx"), let y = number("cy"), let r = number("r") else { return nil }
            let reach = r + (number("stroke-width") ?? 0) / 2
            self.init(minX: x - reach, minY: y - reach, maxX: x + reach, maxY: y + reach)
        case "path":
            guard let d = a["d"] else { return nil }
            var xs: [Double] = []
            var ys: [Double] = []
            var command: Character = "M"
            var pending: [Double] = []
            var scanner = d[...]
            while let first = scanner.first {
                if first.isLetter {
                    command = first
                    pending = []
                    scanner = scanner.dropFirst()
                    continue
                }
                if first == "," || first == " " {
                    scanner = scanner.dropFirst()
                    continue
                }
                let digits = scanner.prefix { $0.isNumber || $0 == "." || $0 == "-" }
                guard let value = Double(digits) else { return nil }
                scanner = scanner.dropFirst(digits.count)
                switch command {
                case "H": xs.append(value)
                case "V": ys.append(value)
                default:
                    pending.append(value)
                    if pending.count == 2 {
                        xs.append(pending[0])
                        ys.append(pending[1])
                        pending = []
                    }
                }
            }
            guard let minX = xs.min(), let maxX = xs.max(), let minY = ys.min(), let maxY = ys.max() else { return nil }
            self.init(minX: minX, minY: minY, maxX: maxX, maxY: maxY)
        case "text":
            self.init(text: element)
        default:
            return nil
        }
    }

    /// A text's box: as high as its font, 0.6 of the font size per character wide.
    private init?(text element: SVGDocument.Element) {
        guard let text = element.text, let x = element.attributes["x"].flatMap(Double.init),
            let y = element.attributes["y"].flatMap(Double.init)
        else { return nil }
        let size = element.attributes["font-size"].flatMap(Double.init) ?? 12
        let width = Double(text.count) * size * 0.6
        let minX =
            switch element.attributes["text-anchor"] {
            case "end": x - width
            case "middle": x - width / 2
            default: x
            }
        self.init(minX: minX, minY: y - size, maxX: minX + width, maxY: y + size * 0.25)
    }

    func contains(_ other: Box) -> Bool {
        other.minX >= minX && other.maxX <= maxX && other.minY >= minY && other.maxY <= maxY
    }

    func intersects(_ other: Box) -> Bool {
        minX < other.maxX && other.minX < maxX && minY < other.maxY && other.minY < maxY
    }
}
