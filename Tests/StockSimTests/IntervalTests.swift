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

        init(index: Int, workers: Int, url: String, key: String, rate: Double? = nil, orders: Int = 10) throws {
            let input = try PipeDescriptors()
            let output = try PipeDescriptors()
            process = try ChildProcess.spawn(
                StocksimCLI.executable, arguments: ["worker"], stdin: .descriptor(input.readEnd),
                stdout: .descriptor(output.writeEnd), stderr: .inherit)
            close(input.readEnd)
            close(output.writeEnd)
            channel = LineChannel(input: output.readEnd, output: input.writeEnd)
            var configuration = SimulationConfiguration(
                key: key, initialStock: 40, recordsLedger: false, strategy: .decr, workers: workers, seed: 3)
            configuration.arrival = rate.map { Arrival(rate: $0) }
            let assignment = WorkerAssignment(
                index: index, runID: "iv\(index)", redisURL: url, configuration: configuration, orderQuota: orders,
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
            #expect(report.counts.progress.orders == 10, "\(report)")
            #expect(intervals.map(\.second) == [1], "\(intervals.map(\.second))")
            #expect(intervals.map(\.orders).reduce(0, +) == 10)
        }
        _ = try admin.send("DEL", RedisArgument(key))
    }

    @Test func aWorkerSendsEachSecondAsItClosesNotInItsReport() throws {
        let key = SharedRedis.uniqueKey()
        let admin = try redis.connection()
        _ = try admin.send("SET", RedisArgument(key), 40)
        // 10 orders a second for 25 orders: a sale of three seconds.
        var worker = try HandDrivenWorker(index: 0, workers: 1, url: redis.url, key: key, rate: 10, orders: 25)
        worker.channel.send(DriverMessage.go(startNanoseconds: monotonicNanoseconds()))
        defer {
            worker.channel.closeOutput()
            worker.channel.closeInput()
            _ = worker.process.wait()
        }
        var sent: [(interval: WorkerInterval, ordersSoFar: Int)] = []
        var ordersSoFar = 0
        var report: WorkerReport?
        while report == nil, let message = try worker.channel.receive(WorkerMessage.self) {
            switch message {
            case .progress(let progress): ordersSoFar = progress.orders
            case .interval(let interval): sent.append((interval, ordersSoFar))
            case .done(let done): report = done
            default: break
            }
        }
        let done = try #require(report)
        #expect(done.counts.progress.orders == 25)
        #expect(sent.map(\.interval.second) == [0, 1, 2], "\(sent.map(\.interval.second))")
        #expect(sent.map(\.interval.orders).reduce(0, +) == 25)
        // Seconds 0 and 1 came while the worker still sold, each after a progress that counts its orders.
        #expect(sent.dropLast().allSatisfy { $0.ordersSoFar < 25 }, "\(sent.map(\.ordersSoFar))")
        var covered = 0
        for entry in sent {
            covered += entry.interval.orders
            #expect(entry.ordersSoFar >= covered)
        }
        // The report is the same size however long the sale: it carries no seconds.
        let line = try JSONEncoder().encode(WorkerMessage.done(done))
        #expect(!String(decoding: line, as: UTF8.self).contains("\"second\""))
        _ = try admin.send("DEL", RedisArgument(key))
    }
}
