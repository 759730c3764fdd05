import Foundation
import Hiredis
import Spawn

/// What a host writes into the run's stream: the one type of the stream, encoded in `encoded()` and decoded in
/// `init(fields:)`.
enum HostMessage: Codable, Sendable, Equatable {
    /// About once a second while its workers sell.
    case progress(HostProgress)
    /// About once a second while its workers sell, and before its report: the seconds its workers have completed.
    case intervals(HostIntervals)
    /// Once, at the end: everything the coordinator needs to merge the host into the report.
    case report(HostReport)
    /// `--chaos kill-host`: written just before the host kills its workers and itself.
    case killed(HostProgress)

    var host: String {
        switch self {
        case .progress(let progress), .killed(let progress): progress.host
        case .intervals(let intervals): intervals.host
        case .report(let report): report.host
        }
    }

    /// The stream entry's fields: `host` (to read without decoding) and `message`.
    func fields() -> [RedisArgument] {
        let data = (try? JSONEncoder.hostMessages.encode(self)) ?? Data()
        return ["host", RedisArgument(host), "message", .bytes(Array(data))]
    }

    /// A stream entry's fields, read back.
    ///
    /// - Throws: `HostStreamError` quoting what did not decode.
    init(fields: [RedisReply]) throws(HostStreamError) {
        var index = 0
        while index + 1 < fields.count {
            defer { index += 2 }
            guard fields[index].string == "message", let bytes = fields[index + 1].bytes else { continue }
            do {
                self = try JSONDecoder().decode(HostMessage.self, from: Data(bytes))
                return
            } catch {
                let text = String(decoding: bytes.prefix(200), as: UTF8.self)
                throw HostStreamError(message: "a stream entry did not decode as a host message (\(error)): \(text)")
            }
        }
        throw HostStreamError(message: "a stream entry has no 'message' field: \(fields.prefix(4))")
    }
}

struct HostStreamError: Error, Sendable {
    var message: String
}

/// A host's totals so far.
struct HostProgress: Codable, Sendable, Equatable {
    var host: String
    /// What its workers have acknowledged, summed.
    var totals = WorkerProgress()
    /// Seconds since its release.
    var elapsed = 0.0
}

/// Seconds of a host's sale, each complete (every one of its workers has moved past it), with its workers' counts
/// and latencies added up; each second once, oldest first.
struct HostIntervals: Codable, Sendable, Equatable {
    var host: String
    var seconds: [WorkerInterval]
}

/// A host's full report: its workers' outcomes with their HDR histogram counts, and its own figures.
struct HostReport: Codable, Sendable, Equatable {
    /// A worker's outcome, as it travels (a `WorkerOutcome` with its termination spelled out).
    struct Worker: Codable, Sendable, Equatable {
        var index: Int
        var pid: Int32
        var report: WorkerReport?
        var exitStatus: Int32?
        var signal: Int32?
        var peakRSSBytes: Int
        var lastProgress: WorkerProgress
        var failure: String?

        init(_ outcome: WorkerOutcome) {
            index = outcome.index
            pid = outcome.pid
            report = outcome.report
            switch outcome.termination {
            case .exited(let status): exitStatus = status
            case .signaled(let number): signal = number
            }
            peakRSSBytes = outcome.peakRSSBytes
            lastProgress = outcome.lastProgress
            failure = outcome.failure
        }

        var outcome: WorkerOutcome {
            WorkerOutcome(
                index: index, pid: pid, report: report,
                termination: signal.map { .signaled($0) } ?? .exited(exitStatus ?? -1), peakRSSBytes: peakRSSBytes,
                lastProgress: lastProgress, failure: failure)
        }
    }

    var host: String
    var workers: [Worker]
    var spawnSeconds: Double
    var elapsedSeconds: Double
    var clock: ClockOffset
    /// Microseconds between the start instant (on this host's clock) and the `go` to its workers.
    var releaseLagMicroseconds: Int64
    /// Its first sale, in Redis's clock by its measured offset (0: no sale).
    var firstSaleAtMicroseconds: Int64 {
        let first = workers.compactMap { $0.report?.firstSaleNanoseconds }.filter { $0 > 0 }.min()
        return first.map { clock.server(Int64($0 / 1_000)) } ?? 0
    }
    /// What this host wrote into the stream, this report not included.
    var streamEntries: Int
    var streamBytes: Int
}
