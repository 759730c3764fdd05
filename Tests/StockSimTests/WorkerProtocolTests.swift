import Foundation
import Spawn
import Testing

@testable import StockSim

#if canImport(Glibc)
import Glibc
#endif

/// The driver ↔ worker protocol: every message survives the line channel, and a line that is not a message is an
/// error that quotes it.
@Suite("worker protocol")
struct WorkerProtocolTests {
    static let assignment = WorkerAssignment(
        index: 3, runID: "ab12", redisURL: "redis://:secret@127.0.0.1:6379/0",
        configuration: SimulationConfiguration(initialStock: 50, strategy: .lua, workers: 4, skus: 6, groups: 2),
        orderQuota: 17, scriptSHA: String(repeating: "a", count: 40), namedConnection: true)

    static var report: WorkerReport {
        var report = WorkerReport(index: 2)
        report.counts.progress.units = 40
        report.counts.progress.orders = 20
        report.counts.rejected = 1
        report.counts.progress.attempts = 25
        report.counts.progress.conflicts = 5
        report.latency = HistogramCounts(pairs: [[120, 3], [480, 1]])
        report.retries = HistogramCounts(pairs: [[0, 18], [1, 2]])
        report.unitsBySKU = [10, 30]
        report.error = "the stock key 'k' does not exist (was it deleted?)"
        report.finishedNanoseconds = 123_456_789
        return report
    }

    /// A channel whose output feeds its own input, through a pipe.
    func loopback() throws -> LineChannel {
        let pipe = try PipeDescriptors()
        return LineChannel(input: pipe.readEnd, output: pipe.writeEnd)
    }

    @Test("progress comes ten times a second up to 8 workers, then as often in sum: about 80 lines a second")
    func progressIntervalScalesWithWorkers() {
        func interval(_ workers: Int) -> Duration {
            var assignment = Self.assignment
            assignment.configuration.workers = workers
            return assignment.progressInterval
        }
        #expect(interval(1) == .milliseconds(100))
        #expect(interval(8) == .milliseconds(100))
        #expect(interval(16) == .milliseconds(200))
        #expect(interval(64) == .milliseconds(800), "64 workers × 1.25 lines a second: 80 lines, not 640")
    }

    @Test(
        "a progress line is written by hand, as JSONEncoder writes it (the same JSON), and decodes to the message",
        arguments: [
            WorkerProgress(), WorkerProgress(units: 7, orders: 5, attempts: 9, conflicts: 2),
            WorkerProgress(units: 1_000_000_000, orders: 123_456, attempts: Int.max, conflicts: -1),
        ])
    func progressLineIsHandWritten(progress: WorkerProgress) throws {
        let line = LineChannel.progressLine(progress)
        #expect(line.last == UInt8(ascii: "\n"))
        let body = Data(line.dropLast())
        let encoded = try JSONEncoder().encode(WorkerMessage.progress(progress))
        let handWritten = try #require(try JSONSerialization.jsonObject(with: body) as? NSDictionary)
        let byEncoder = try #require(try JSONSerialization.jsonObject(with: encoded) as? NSDictionary)
        #expect(handWritten == byEncoder, "\(String(decoding: body, as: UTF8.self))")
        #expect(try JSONDecoder().decode(WorkerMessage.self, from: body) == .progress(progress))
    }

    @Test(
        "an interval line is written by hand, as JSONEncoder writes it (the same JSON), and decodes to the message",
        arguments: [
            WorkerInterval(second: 0),
            WorkerInterval(
                second: 3, orders: 5, units: 7, conflicts: 2, refusals: 1,
                latency: HistogramCounts(pairs: [[12, 3], [250, 1], [1_000_000, 1]])),
            WorkerInterval(
                second: 86_400, orders: Int.max, units: 1, conflicts: -1, refusals: 0,
                latency: HistogramCounts(pairs: [[UInt64.max, UInt64.max]])),
        ])
    func intervalLineIsHandWritten(interval: WorkerInterval) throws {
        let line = LineChannel.intervalLine(interval)
        #expect(line.last == UInt8(ascii: "\n"))
        let body = Data(line.dropLast())
        let encoded = try JSONEncoder().encode(WorkerMessage.interval(interval))
        let handWritten = try #require(try JSONSerialization.jsonObject(with: body) as? NSDictionary)
        let byEncoder = try #require(try JSONSerialization.jsonObject(with: encoded) as? NSDictionary)
        #expect(handWritten == byEncoder, "\(String(decoding: body, as: UTF8.self))")
        #expect(try JSONDecoder().decode(WorkerMessage.self, from: body) == .interval(interval))
    }

    @Test("a second's latencies reach the next second's interval only once: each second's histogram starts empty")
    func eachSecondStartsItsOwnHistogram() {
        var recorder = IntervalRecorder(start: 0)
        let second = UInt64(1_000_000_000)
        recorder.record(.sold(attempts: 1, conflicts: 0), units: 1, latencyMicroseconds: 100, end: 10)
        recorder.record(.sold(attempts: 1, conflicts: 0), units: 1, latencyMicroseconds: 200, end: second + 10)
        recorder.record(.sold(attempts: 2, conflicts: 1), units: 1, latencyMicroseconds: 300, end: second + 20)
        recorder.record(.sold(attempts: 1, conflicts: 0), units: 1, latencyMicroseconds: 400, end: 3 * second)
        let seconds = recorder.takeClosed() + recorder.finish()
        #expect(seconds.map(\.second) == [0, 1, 3])
        #expect(seconds.map(\.latency.pairs) == [[[100, 1]], [[200, 1], [300, 1]], [[400, 1]]])
        #expect(seconds.map(\.conflicts) == [0, 1, 0])
    }

    @Test("a line longer than one read arrives whole, and the lines a read holds together come apart, in order")
    func linesAcrossAndWithinReads() throws {
        let pipe = try PipeDescriptors()
        var reader = LineChannel(input: pipe.readEnd, output: -1)
        let writer = LineChannel(input: -1, output: pipe.writeEnd)
        defer { reader.closeInput() }
        // A report whose histogram counts run to about 300 KB of JSON: several reads of at most 64 KB each (and more
        // than the pipe holds, so it is written from another thread while this one reads).
        var report = WorkerReport(index: 3)
        report.latency = HistogramCounts(pairs: (0..<20_000).map { [UInt64(1_000_000 + $0), UInt64(1_000_000_007)] })
        let messages: [WorkerMessage] = [.ready, .done(report), .progress(WorkerProgress(units: 1)), .failed("x")]
        let sent = Thread {
            var writer = writer
            for message in messages { _ = writer.send(message) }
            writer.closeOutput()
        }
        sent.start()
        var received: [WorkerMessage] = []
        while let message = try reader.receive(WorkerMessage.self) { received.append(message) }
        #expect(received == messages)
    }

    @Test(arguments: [
        DriverMessage.assignment(WorkerProtocolTests.assignment), .go(startNanoseconds: 123_456_789), .stop,
    ])
    func driverMessagesRoundTrip(message: DriverMessage) throws {
        var channel = try loopback()
        defer {
            channel.closeOutput()
            channel.closeInput()
        }
        #expect(channel.send(message))
        #expect(try channel.receive(DriverMessage.self) == message)
    }

    @Test(arguments: [
        WorkerMessage.ready, .progress(WorkerProgress(units: 7, orders: 5, attempts: 9, conflicts: 2)),
        .interval(WorkerInterval(second: 3, orders: 2, units: 4, latency: HistogramCounts(pairs: [[120, 2]]))),
        .done(WorkerProtocolTests.report), .failed("cannot connect to 127.0.0.1:1: connection refused"),
    ])
    func workerMessagesRoundTrip(message: WorkerMessage) throws {
        var channel = try loopback()
        defer {
            channel.closeOutput()
            channel.closeInput()
        }
        #expect(channel.send(message))
        #expect(try channel.receive(WorkerMessage.self) == message)
    }

    @Test func messagesStreamInOrderAndEndAtEndOfFile() throws {
        var channel = try loopback()
        defer { channel.closeInput() }
        let messages: [WorkerMessage] = [.ready, .progress(WorkerProgress(units: 1)), .done(Self.report)]
        for message in messages { channel.send(message) }
        channel.closeOutput()
        let (received, open) = channel.receiveAvailable(WorkerMessage.self)
        #expect(try received.map { try $0.get() } == messages)
        #expect(open)
        #expect(try channel.receive(WorkerMessage.self) == nil)
    }

    @Test func aLineThatDoesNotDecodeIsAnErrorQuotingIt() throws {
        var channel = try loopback()
        defer {
            channel.closeOutput()
            channel.closeInput()
        }
        let garbage = Array("progress 1 2 3 4\n".utf8)
        #expect(garbage.withUnsafeBytes { write(channel.output, $0.baseAddress, $0.count) } == garbage.count)
        #expect {
            _ = try channel.receive(WorkerMessage.self)
        } throws: { error in
            (error as? LineChannel.UndecodableLine)?.description.contains("\"progress 1 2 3 4\"") == true
        }
    }

    @Test func aWorkerThatSendsGarbageFailsToStartWithTheLineQuoted() throws {
        let pool = WorkerPool()
        #expect {
            try pool.start(
                executable: "/bin/sh", arguments: ["-c", "echo 'hello, driver'; sleep 5"], forkServer: false,
                assignments: [Self.assignment], readyTimeout: .seconds(5))
        } throws: { error in
            let message = (error as? PoolStartError)?.message ?? ""
            return message.contains("worker 3 could not start") && message.contains("\"hello, driver\"")
        }
    }
}
