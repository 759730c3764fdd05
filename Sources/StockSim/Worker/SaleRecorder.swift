import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A worker's record of its order events: fixed-size `SaleRecord`s stored into a preallocated buffer and appended to
/// the worker's own file in the run's record directory with one write(2) per 4096 records — or, when workers may be
/// killed (`--chaos kill-worker`), before every order is sent, so a killed worker's file still holds everything up to
/// the order it died in (that order's `invoke` with no completion: an unknown outcome). The driver reads the files for
/// the per-sale witness and the history, and removes the directory.
final class SaleRecorder {
    /// Records held before a write.
    static let capacity = 4096

    let path: String
    /// Write `invoke` records and flush before every order.
    let flushEachOrder: Bool
    /// Write `invoke` records (a history, or `flushEachOrder`).
    let recordsInvokes: Bool
    /// Stamp records with CLOCK_MONOTONIC (a history needs the times; the witness does not).
    let stampsTime: Bool
    private let descriptor: Int32
    private let buffer: UnsafeMutablePointer<SaleRecord>
    private var count = 0
    /// The first write that failed, as one line.
    private(set) var failure: String?

    /// Opens (creating or truncating) the worker's record file.
    ///
    /// - Throws: `SaleRecorderError` when the file cannot be created.
    init(path: String, flushEachOrder: Bool, recordsInvokes: Bool, stampsTime: Bool) throws(SaleRecorderError) {
        self.path = path
        self.flushEachOrder = flushEachOrder
        self.recordsInvokes = recordsInvokes || flushEachOrder
        self.stampsTime = stampsTime
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SaleRecorderError(
                message: "cannot create the sale record file \(path): \(String(cString: strerror(errno)))")
        }
        buffer = .allocate(capacity: Self.capacity)
    }

    deinit {
        buffer.deallocate()
        close(descriptor)
    }

    private var now: UInt64 { stampsTime ? monotonicNanoseconds() : 0 }

    /// Before the order is sent: its `invoke` (when recorded), and in `flushEachOrder` mode everything so far is
    /// written. Out of line, as `complete` is, so that `stocksim-benchmark --witness-cost` can count the witness's
    /// work in a worker by function (a call is a handful of instructions in an order of thousands).
    @inline(never)
    func invoke(_ order: Order, sequence: Int) {
        guard recordsInvokes else { return }
        let time = now
        for sku in order.skus {
            append(SaleRecord(.invoke, sequence: sequence, time: time, sku: sku, units: order.units, stockLeft: nil))
        }
        if flushEachOrder { flush() }
    }

    /// The order's completion: `nil` for an outcome nobody knows. A single SKU's sale (every order of a single-key
    /// run) is one record stored, with no array or enumeration of the order's SKUs.
    @inline(never)
    func complete(_ order: Order, sequence: Int, outcome: SaleOutcome?) {
        let time = now
        if order.skus.count == 1, case .sold(_, _, let left)? = outcome {
            append(
                SaleRecord(
                    .sold, sequence: sequence, time: time, sku: order.skus[0], units: order.units,
                    stockLeft: left.value(at: 0)))
            return
        }
        let kind: SaleRecord.Kind
        var left = StockLeft.unknown
        var remaining: [Int64] = []
        switch outcome {
        case .sold(_, _, let stockLeft)?:
            kind = .sold
            left = stockLeft
        // Found in the ledger after a lost reply: sold, but where in the chain nobody saw.
        case .alreadyRecorded?: kind = .recovered
        case .outOfStock(let seen, _, _)?:
            kind = .refused
            remaining = seen
        case .gaveUp?: kind = .gaveUp
        case nil: kind = .unknown
        }
        for index in order.skus.indices {
            let value =
                kind == .refused ? (remaining.indices.contains(index) ? remaining[index] : nil) : left.value(at: index)
            append(
                SaleRecord(
                    kind, sequence: sequence, time: time, sku: order.skus[index], units: order.units, stockLeft: value))
        }
    }

    private func append(_ record: SaleRecord) {
        if count == Self.capacity { flush() }
        buffer[count] = record
        count += 1
    }

    /// Writes the held records. A failed write is kept in `failure` (and the records are dropped).
    func flush() {
        guard count > 0 else { return }
        let bytes = count * MemoryLayout<SaleRecord>.stride
        var written = 0
        let raw = UnsafeRawPointer(buffer)
        while written < bytes {
            let result = write(descriptor, raw + written, bytes - written)
            if result < 0 {
                if errno == EINTR { continue }
                failure = failure ?? "cannot write the sale records to \(path): \(String(cString: strerror(errno)))"
                break
            }
            written += result
        }
        count = 0
    }
}

/// The record file could not be created or written.
struct SaleRecorderError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
