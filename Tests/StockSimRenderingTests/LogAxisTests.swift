import Foundation
import Testing

@testable import StockSimRendering

/// The log-2 axis under the sweep chart's workers and its rate chart's rates.
@Suite("log-2 axis")
struct LogAxisTests {
    @Test("doubling a value moves it the same distance anywhere on the axis")
    func logarithmic() {
        let axis = LogAxis(values: [1, 64], margin: .fixed(0), minimumTickGap: 0, left: 0, right: 600)
        #expect(axis.x(1) == 0 && axis.x(64) == 600)
        #expect(close(axis.x(2) - axis.x(1), 100) && close(axis.x(64) - axis.x(32), 100))
    }

    @Test("a fixed margin keeps the ends that far in, in log-2 units")
    func fixedMargin() {
        let axis = LogAxis(values: [4, 1, 2], margin: .fixed(0.5), minimumTickGap: 0, left: 0, right: 300)
        #expect(axis.low == -0.5 && axis.high == 2.5)
        #expect(close(axis.x(1), 50) && close(axis.x(4), 250))
    }

    @Test("a span margin grows with the distance between the smallest and largest value")
    func spanMargin() {
        let axis = LogAxis(values: [500, 8_000], margin: .spanFraction(0.25), minimumTickGap: 0, left: 0, right: 600)
        let span = log2(8_000.0) - log2(500.0)
        #expect(close(axis.low, log2(500.0) - 0.25 * span) && close(axis.high, log2(8_000.0) + 0.25 * span))
        #expect(close(axis.x(500), 100) && close(axis.x(8_000), 500))
    }

    @Test("one value alone sits in the middle, whatever the margin")
    func oneValue() {
        for margin in [LogAxis.Margin.fixed(0.3), .spanFraction(0.15)] {
            let axis = LogAxis(values: [8, 8], margin: margin, minimumTickGap: 26, left: 100, right: 300)
            #expect(axis.x(8) == 200)
            #expect(axis.ticks == [8])
        }
    }

    @Test("every value is a tick, smallest first, unless it would crowd the tick before it")
    func crowdedTicks() {
        // 1…64 over 600 points: 100 apart per doubling; 3 is 58.5 past 2, 5 is 32.2 past 4.
        let values: [Double] = [64, 5, 1, 2, 3, 4, 8, 16, 32]
        let wide = LogAxis(values: values, margin: .fixed(0), minimumTickGap: 30, left: 0, right: 600)
        #expect(wide.ticks == [1, 2, 3, 4, 5, 8, 16, 32, 64])
        // With a wider gap 3 crowds 2, 4 then stands 100 past 2, and 5 crowds 4.
        let narrow = LogAxis(values: values, margin: .fixed(0), minimumTickGap: 60, left: 0, right: 600)
        #expect(narrow.ticks == [1, 2, 4, 8, 16, 32, 64])
    }

    @Test("a value at or below zero is drawn where 1e-9 is, not at minus infinity")
    func floor() {
        let axis = LogAxis(values: [0, 1], margin: .fixed(0), minimumTickGap: 0, left: 0, right: 100)
        #expect(axis.x(0) == 0 && axis.x(-5) == 0 && axis.x(1e-9) == 0)
        #expect(axis.x(1) == 100)
    }

    private func close(_ value: Double, _ expected: Double) -> Bool {
        abs(value - expected) < 1e-9
    }
}
