import Foundation
import Hiredis
import Spawn
import Testing

@testable import StockSim

#if canImport(Glibc)
import Glibc
#endif

/// `intervals[]` seconds count from the run's start barrier (the `go` every worker shares), not from each worker's
/// own start: real `stocksim worker` processes on the suite's own redis-server, told to go at different times.
@Suite("intervals from the run's start", .serialized)
struct IntervalTests {
    let redis: SharedRedis

    init() throws { redis = try SharedRedis() }

    /// A worker driven by hand over its protocol: spawned, assigned, connected (`ready`).
    struct HandDrivenWorker {
        var process: ChildProcess
        var channel: LineChannel

        init(index: Int, workers: Int, url: String, key: String) throws {
            let input = try PipeDescriptors()
            let output = try PipeDescriptors()
            process = try ChildProcess.spawn(
                StocksimCLI.executable, arguments: ["worker"], stdin: .descriptor(input.readEnd),
                stdout: .descriptor(output.writeEnd), stderr: .inherit)
            close(input.readEnd)
            close(output.writeEnd)
            channel = LineChannel(input: output.readEnd, output: input.writeEnd)
            let configuration = SimulationConfiguration(
                key: key, initialStock: 40, recordsLedger: false, strategy: .decr, workers: workers, seed: 3)
            let assignment = WorkerAssignment(
                index: index, runID: "iv\(index)", redisURL: url, configuration: configuration, orderQuota: 10,
                scriptSHA: "", namedConnection: false, recordsSales: false)
            channel.send(DriverMessage.assignment(assignment))
            let ready = try channel.receive(WorkerMessage.self)
            guard ready == .ready else {
                throw ConfigurationError("the worker did not say ready: \(String(describing: ready))")
            }
        }

        /// Opens its barrier at `start` and reads messages until its report: the report, and the seconds it sent
        /// before it.
        mutating func go(start: UInt64) throws -> (report: WorkerReport, intervals: [WorkerInterval])? {
            channel.send(DriverMessage.go(startNanoseconds: start))
            defer {
                channel.closeOutput()
                channel.closeInput()
                _ = process.wait()
            }
            var intervals: [WorkerInterval] = []
            while let message = try channel.receive(WorkerMessage.self) {
                if case .interval(let interval) = message { intervals.append(interval) }
                if case .done(let report) = message { return (report, intervals) }
            }
            return nil
        }
    }

    @Test func workersThatGoAtDifferentTimesCountTheSameSecondsFromTheRunsStart() throws {
        let key = SharedRedis.uniqueKey()
        let admin = try redis.connection()
        _ = try admin.send("SET", RedisArgument(key), 40)
        var early = try HandDrivenWorker(index: 0, workers: 2, url: redis.url, key: key)
        var late = try HandDrivenWorker(index: 1, workers: 2, url: redis.url, key: key)
        // The run's barrier opened 1.1 s ago; one worker heard `go` now, the other 0.3 s later. Each sells its 10
        // orders within milliseconds, so both sell in second 1 of the run, though each in the first second of its own.
        let start = monotonicNanoseconds() - 1_100_000_000
        let first = try #require(try early.go(start: start))
        usleep(300_000)
        let second = try #require(try late.go(start: start))
        for (report, intervals) in [first, second] {
            #expect(report.counts.orders == 10, "\(report)")
            #expect(intervals.map(\.second) == [1], "\(intervals.map(\.second))")
            #expect(intervals.map(\.orders).reduce(0, +) == 10)
        }
        _ = try admin.send("DEL", RedisArgument(key))
    }
}
