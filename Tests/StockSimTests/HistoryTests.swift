import Foundation
import StockSim
import Testing

/// The history format: every line type written and read back, a malformed line named by number, a failed write
/// surfaced, and the order of events a history must keep.
@Suite("history")
struct HistoryTests {
    static let line = [OrderLine(key: "stock:count", units: 2)]
    static let cart = [OrderLine(key: "{s:g0}:sku:0", units: 1), OrderLine(key: "{s:g0}:sku:2", units: 1)]

    @Test func everyLineTypeRoundTrips() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/history.jsonl"
        let lines: [HistoryLine] = [
            .header(HistoryHeader(initial: ["stock:count": 10, "{s:g0}:sku:0": 5, "{s:g0}:sku:2": 5])),
            .event(.invoke(order: "R:0:1", units: Self.line, worker: 0, time: 100)),
            .event(.ok(order: "R:0:1", units: Self.line, stockLeft: [8], worker: 0, time: 200)),
            .event(.invoke(order: "R:1:1", units: Self.cart, worker: 1, host: "host-b", time: 300)),
            .event(.ok(order: "R:1:1", units: Self.cart, stockLeft: [4, nil], worker: 1, host: "host-b", time: 400)),
            .event(.invoke(order: "R:0:2", units: Self.line, worker: 0, time: 500)),
            .event(
                .fail(
                    order: "R:0:2", units: Self.line, reason: .outOfStock, error: "1 left", worker: 0, time: 600)),
            .event(.invoke(order: "R:0:3", units: Self.line, worker: 0, time: 700)),
            .event(.info(order: "R:0:3", units: Self.line, error: "connection lost after EXEC", worker: 0, time: 800)),
            .end(final: ["stock:count": 6]),
        ]
        let writer = try HistoryWriter(path: path, bufferBytes: 100)
        for line in lines { try writer.append(line: line) }
        try writer.close()

        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.split(separator: "\n").count == lines.count)
        #expect(
            text.contains(
                #"{"host":null,"order":"R:0:1","stock_left":[8],"time_ns":200,"type":"ok","units":[{"key":"stock:count","units":2}],"worker":0}"#
            ))
        #expect(text.contains(#""stock_left":[4,null]"#))
        #expect(text.contains(#""reason":"out-of-stock""#))

        let reader = try HistoryReader(path: path)
        var read: [HistoryLine] = []
        while let (number, line) = try reader.next() {
            #expect(number == read.count + 1)
            read.append(line)
        }
        #expect(read == lines)
    }

    @Test func aMalformedLineIsNamedByNumberAndQuoted() throws {
        let directory = try TemporaryDirectory()
        let good = #"{"type":"invoke","worker":0,"order":"R:0:1","units":[{"key":"k","units":1}],"time_ns":1}"#
        let cases = [
            (#"{"type":"ok","worker":0,"order":"R:0:1""#, "not a JSON object"),
            (#"{"type":"sold","worker":0}"#, #"unknown type "sold""#),
            (#"{"type":"ok","worker":0,"time_ns":2}"#, #"missing field "order""#),
            (#"{"type":"ok","worker":"zero","order":"R:0:1","time_ns":2}"#, #"field "worker" has the wrong type"#),
        ]
        for (bad, explanation) in cases {
            let path = try directory.write("bad.jsonl", good + "\n\n" + bad + "\n")
            let reader = try HistoryReader(path: path)
            #expect(try reader.next()?.number == 1)
            let error = try #require(throws: HistoryError.self) { try reader.next() }
            #expect(error.code == .malformedLine)
            #expect(error.line == 3)
            #expect(error.message.hasPrefix("\(path):3: "), "\(error.message)")
            #expect(error.message.contains(explanation), "\(error.message)")
            #expect(error.message.hasSuffix(bad), "\(error.message)")
        }
    }

    @Test func aLastLineWithoutNewlineIsRead() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("h.jsonl", #"{"type":"end","final":{"k":3}}"#)
        let reader = try HistoryReader(path: path)
        #expect(try reader.next()?.line == .end(final: ["k": 3]))
        #expect(try reader.next() == nil)
    }

    @Test func aLargeHistoryStreamsThroughSmallBuffers() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/large.jsonl"
        let writer = try HistoryWriter(path: path)
        let count = 20_000
        for index in 0..<count {
            try writer.append(.invoke(order: "R:0:\(index)", units: Self.line, worker: 0, time: UInt64(index)))
        }
        try writer.close()
        let reader = try HistoryReader(path: path)
        var read = 0
        while let (_, line) = try reader.next() {
            guard case .event(let event) = line, event.order == "R:0:\(read)" else {
                Issue.record("line \(read + 1) is \(line)")
                return
            }
            read += 1
        }
        #expect(read == count)
    }

    @Test func aFailedWriteIsAnError() throws {
        // /dev/full takes the open and fails every write with ENOSPC.
        let writer = try HistoryWriter(path: "/dev/full", bufferBytes: 0)
        let error = try #require(throws: HistoryError.self) {
            try writer.append(.invoke(order: "R:0:1", units: Self.line, worker: 0, time: 1))
        }
        #expect(error.code == .writeFailed)
        #expect(error.message.contains("No space left on device"), "\(error.message)")
        #expect(throws: HistoryError.self) { try writer.close() }
        #expect(throws: HistoryError.self) {
            try writer.append(.invoke(order: "R:0:2", units: Self.line, worker: 0, time: 2))
        }
    }

    @Test func aMissingFileCannotBeOpened() throws {
        let error = try #require(throws: HistoryError.self) { try HistoryReader(path: "/nonexistent/history.jsonl") }
        #expect(error.code == .cannotOpen)
        #expect(throws: HistoryError.self) { try HistoryWriter(path: "/nonexistent/history.jsonl") }
    }

    @Test func eventsMustFollowTheirInvoke() throws {
        let invoke = HistoryLine.event(.invoke(order: "R:0:1", units: Self.line, worker: 0, time: 1))
        let ok = HistoryLine.event(.ok(order: "R:0:1", units: Self.line, stockLeft: [8], worker: 0, time: 2))
        let broken: [([HistoryLine], String)] = [
            ([ok], "which is not open"),
            ([invoke, invoke], "invoked again before it completed"),
            ([invoke, ok, ok], "which is not open"),
            ([invoke, .header(HistoryHeader(initial: nil))], "not the first line"),
            ([invoke, ok, .end(final: [:]), invoke], "after the closing"),
            (
                [invoke, .event(.ok(order: "R:0:1", units: Self.line, stockLeft: [8, 7], worker: 0, time: 2))],
                "2 \"stock_left\" entries for 1 order line"
            ),
            (
                [invoke, .event(HistoryEvent(type: .fail, worker: 0, order: "R:0:1", units: nil, timeNanoseconds: 2))],
                "has no \"reason\""
            ),
            (
                [.event(.invoke(order: "R:0:1", units: [OrderLine(key: "k", units: 0)], worker: 0, time: 1))],
                "units are positive"
            ),
        ]
        for (lines, message) in broken {
            var check = HistoryCheck()
            let error = try #require(throws: HistoryError.self) {
                for (index, line) in lines.enumerated() { try check.add(line, number: index + 1) }
            }
            #expect(error.line == lines.count)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func completionsMayLeaveOutTheirUnitsAndUnfinishedOrdersAreUnknown() throws {
        var check = HistoryCheck()
        let lines: [HistoryLine] = [
            .header(HistoryHeader(initial: ["stock:count": 10])),
            .event(.invoke(order: "R:0:1", units: Self.line, worker: 0, time: 1)),
            .event(HistoryEvent(type: .ok, worker: 0, order: "R:0:1", units: nil, stockLeft: [8], timeNanoseconds: 2)),
            .event(.invoke(order: "R:0:2", units: Self.line, worker: 0, time: 3)),
            .end(final: ["stock:count": 6]),
        ]
        for (index, line) in lines.enumerated() { try check.add(line, number: index + 1) }
        let result = check.finish()
        let counts = result.counts
        let all: [Int] = [counts.invoked, counts.ok, counts.fail, counts.info, counts.unfinished]
        #expect(all == [2, 1, 0, 0, 1])
        // 8 → 6 is the unfinished order's 2 units: explained, not a violation.
        #expect(result.witness.passed, "\(result.witness.violations)")
        #expect(result.witness.keys.first?.unknownOrdersSold == 1)
        // The flags override the header: from 13 the first sale leaves a gap of 3 that the 2 units cannot explain.
        let overridden = check.finish(initial: StockGiven(perKey: ["stock:count": 13]))
        #expect(overridden.witness.violations.map(\.kind) == [.chainStart])
    }
}
