import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The workers' `SaleRecord` files of one run, in a temporary directory the driver creates before the pool starts
/// and removes after the audit.
struct SaleRecords {
    let directory: String

    /// Creates the run's record directory.
    ///
    /// - Throws: `SimulationError` when it cannot be created.
    static func create(runID: String) throws(SimulationError) -> SaleRecords {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stocksim-\(runID)-\(getpid())"
        ).path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SimulationError(
                .invalidConfiguration, "cannot create the sale record directory \(directory): \(error)")
        }
        return SaleRecords(directory: directory)
    }

    /// Removes the directory and every file in it.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A worker's record file.
    func path(worker: Int) -> String { "\(directory)/w\(worker).records" }

    /// Records read at a time from a file read alone (the first pass, the history's).
    static let chunk = 16384
    /// Records held in all when every worker's file is read at once (the merge): 5 MB.
    static let mergeBudget = 131_072

    /// Checks the per-sale witness over every worker's records, in memory flat in the number of sales.
    ///
    /// Two passes over the files, each read in chunks. The first counts each SKU's sales and units, keeps its
    /// unknown-outcome orders (few), and sees whether every worker's own sales on it came in falling stock-left order.
    /// The second walks each SKU's chain from a merge of the workers' sales (`ChainMerge`), sorted as the in-memory
    /// witness sorts it, through the same check. A SKU where some worker's sales rise (a broken run, or a write from
    /// outside between them) is checked the exact in-memory way instead, so the verdict is always the sorted one.
    /// A single key's merge reads the workers' files themselves. A catalog's first pass also copies each sale with a
    /// known stock left into its SKU's spill file (`s{SKU}.spill`, worker after worker, through one 4 MB buffer), and
    /// each SKU's merge reads only its own worker segments there: every record is read twice and a sale written once
    /// more, whatever the number of SKUs (reading every file again per SKU made it SKUs × the files). A SKU checked
    /// the in-memory way reads the workers' own files again, filtered by SKU.
    ///
    /// - Parameters:
    ///   - outcomes: how each worker ended (a worker without a report died).
    ///   - layout: the run's keys.
    ///   - initial: each SKU's initial stock.
    ///   - final: each SKU's stock after the run, as read back.
    ///   - runID: the run, for the order ids.
    ///   - everyOrderFlushed: workers wrote their records before every order, so a dead worker's file is whole.
    ///   - inMemory: check every SKU the in-memory way (tests compare the two).
    ///   - reads: counts the records read from disk (tests keep it bounded).
    /// - Returns: the verdict, or why the chains could not be checked.
    func witness(
        outcomes: [WorkerOutcome], layout: CatalogLayout, initial: Int64, final: [Int64?], runID: String,
        everyOrderFlushed: Bool, inMemory: Bool = false, reads: RecordReads? = nil
    ) -> Result<WitnessResult, WitnessNotChecked> {
        var skus = [SKUSales](repeating: SKUSales(), count: layout.skus)
        var spill = layout.skus > 1 ? SpillFiles(directory: directory, skus: layout.skus) : nil
        for outcome in outcomes {
            if outcome.report == nil && !everyOrderFlushed {
                return .failure(
                    WitnessNotChecked(
                        reason:
                            "worker \(outcome.index) (pid \(outcome.pid)) died before writing its last sale records, so its latest sales are unknown"
                    ))
            }
            guard var reader = SaleRecordReader(path: path(worker: outcome.index), chunk: Self.chunk, tally: reads)
            else {
                return .failure(WitnessNotChecked(reason: "worker \(outcome.index) left no sale records"))
            }
            Self.tally(&reader, into: &skus, spill: &spill, worker: outcome.index)
            if reader.failed {
                return .failure(WitnessNotChecked(reason: "worker \(outcome.index) left no sale records"))
            }
            if let failure = spill?.failure { return .failure(WitnessNotChecked(reason: failure)) }
        }
        var tally = WitnessTally(violationLimit: 100)
        let workers = outcomes.map(\.index)
        for sku in skus.indices {
            let key = layout.stockKey(sku)
            let counted = Witness.ChainTally(
                initial: initial, final: final[sku], sales: skus[sku].sales, units: skus[sku].units,
                unknown: skus[sku].unknown, unplaced: 0)
            let merged = skus[sku].inOrder && !inMemory
            let sources: [(worker: Int, reader: SaleRecordReader?)]
            // The in-memory way reads the workers' own files, not the spill (tests compare the two).
            if merged, let spill {
                let chunk = max(64, min(Self.chunk, Self.mergeBudget / max(1, spill.segments[sku].count)))
                sources = spill.segments[sku].map { segment in
                    (
                        segment.worker,
                        SaleRecordReader(
                            path: spill.path(sku: sku), chunk: chunk, records: segment.records, tally: reads)
                    )
                }
            } else {
                let chunk = max(64, min(Self.chunk, Self.mergeBudget / max(1, workers.count)))
                sources = workers.map { worker in
                    (worker, SaleRecordReader(path: path(worker: worker), chunk: chunk, sku: Int32(sku), tally: reads))
                }
            }
            var readers: [SaleRecordReader] = []
            for source in sources {
                guard let reader = source.reader else {
                    return .failure(WitnessNotChecked(reason: "worker \(source.worker) left no sale records"))
                }
                readers.append(reader)
            }
            guard merged else {
                switch inMemoryWitness(
                    key: key, tally: counted, readers: readers, workers: sources.map(\.worker), runID: runID)
                {
                case .success(let result): tally.add(result)
                case .failure(let failure): return .failure(failure)
                }
                continue
            }
            let merge = ChainMerge(readers: readers, workers: sources.map(\.worker))
            var found: [WitnessViolation] = []
            let result = Witness.check(
                key: key, tally: counted, links: merge, name: Self.namer(runID: runID), into: &found)
            if let worker = merge.failedWorker {
                return .failure(WitnessNotChecked(reason: "worker \(worker)'s sale records could not be read again"))
            }
            tally.add(result, found)
        }
        return .success(tally.result)
    }

    /// Names a streamed sale `RUN:WORKER:SEQUENCE`.
    private static func namer(runID: String) -> (Witness.Link) -> WitnessSale {
        { link in
            WitnessSale(
                order: "\(runID):\(link.worker):\(link.order)", worker: Int(link.worker), stockLeft: link.stockLeft,
                units: link.units)
        }
    }

    /// What the first pass learns of one SKU.
    struct SKUSales {
        var sales = 0
        var units: Int64 = 0
        var unknown: [Int64] = []
        /// Every worker's sales on it came in falling stock-left order (ties allowed).
        var inOrder = true
        /// The stock left by the current worker's last sale on it.
        var last: Int64?
    }

    /// The first pass over one worker's records. Sales with a stock left count toward their SKU's chain; unknown
    /// outcomes, sales nobody saw the stock of and `invoke`s with no completion (a worker killed mid-order) go in as
    /// unknown, so a gap they explain is not a violation.
    private static func tally(
        _ reader: inout SaleRecordReader, into skus: inout [SKUSales], spill: inout SpillFiles?, worker: Int
    ) {
        var pending: [Int64: [(sku: Int, units: Int64)]] = [:]
        for sku in skus.indices { skus[sku].last = nil }
        defer { spill?.flush(worker: worker) }
        while let record = reader.next() {
            let sku = Int(record.sku)
            guard skus.indices.contains(sku) else { continue }
            switch record.kind {
            case .invoke?:
                pending[record.sequence, default: []].append((sku, Int64(record.units)))
                continue
            case .sold? where record.stockLeft != SaleRecord.unknownLeft:
                skus[sku].sales += 1
                skus[sku].units += Int64(record.units)
                if let last = skus[sku].last, record.stockLeft > last { skus[sku].inOrder = false }
                skus[sku].last = record.stockLeft
                spill?.add(record, worker: worker)
            case .sold?, .recovered?, .unknown?, nil:
                skus[sku].unknown.append(Int64(record.units))
            case .refused?, .gaveUp?:
                break
            }
            if !pending.isEmpty { pending[record.sequence] = nil }
        }
        for lines in pending.values {
            for line in lines { skus[line.sku].unknown.append(line.units) }
        }
    }

    /// One SKU checked the in-memory way: its sales from every worker's file, sorted. Only for a SKU some worker's
    /// sales on which rose, which a correct run never shows (and for the tests' comparisons).
    private func inMemoryWitness(
        key: String, tally: Witness.ChainTally, readers: [SaleRecordReader], workers: [Int], runID: String
    ) -> Result<WitnessResult, WitnessNotChecked> {
        var witness = Witness()
        witness.setInitial(tally.initial ?? 0, for: key)
        if let final = tally.final { witness.setFinal(final, for: key) }
        var sales: [(sequence: Int64, units: Int64, stockLeft: Int64)] = []
        for (var reader, worker) in zip(readers, workers) {
            sales.removeAll(keepingCapacity: true)
            while let record = reader.next() {
                guard record.kind == .sold, record.stockLeft != SaleRecord.unknownLeft else { continue }
                sales.append((record.sequence, Int64(record.units), record.stockLeft))
            }
            if reader.failed { return .failure(WitnessNotChecked(reason: "worker \(worker) left no sale records")) }
            witness.recordSales(sales, worker: worker, runID: runID, on: key)
        }
        for units in tally.unknown { witness.recordUnknown(lines: [OrderLine(key: key, units: units)]) }
        return .success(witness.check())
    }
}

/// A catalog's spill: each SKU's sales with a known stock left, copied out of the workers' files in the witness's
/// first pass so that the second reads each SKU's own. A run per worker per chunk is appended to `s{SKU}.spill`
/// (opened, written and closed each time: a catalog may have more SKUs than a process may keep open), and each
/// worker's sales on a SKU are one segment of its file, since the workers' files are read one after another.
struct SpillFiles {
    let directory: String
    /// Per SKU, the segments of its spill file in worker order: whose sales, at which record positions.
    private(set) var segments: [[(worker: Int, records: Range<Int>)]]
    /// Records in each SKU's spill file so far.
    private var written: [Int]
    /// The current worker's sales not yet written, per SKU (a bounded buffer in all: flushed at `bufferLimit`).
    private var buffered: [Int: [SaleRecord]] = [:]
    private var bufferedCount = 0
    /// Why a spill file could not be written; the witness then says it could not check the run.
    private(set) var failure: String?

    /// Sales held before they are written: 4 MB by default.
    let bufferLimit: Int

    init(directory: String, skus: Int, bufferLimit: Int = 131_072) {
        self.directory = directory
        self.bufferLimit = max(1, bufferLimit)
        segments = Array(repeating: [], count: skus)
        written = Array(repeating: 0, count: skus)
    }

    func path(sku: Int) -> String { "\(directory)/s\(sku).spill" }

    /// Takes a sale of `worker`'s (the worker whose file is being read).
    mutating func add(_ record: SaleRecord, worker: Int) {
        buffered[Int(record.sku), default: []].append(record)
        bufferedCount += 1
        if bufferedCount >= bufferLimit { flush(worker: worker) }
    }

    /// Writes the buffered sales of `worker` to their SKUs' files, extending the worker's segment of each.
    mutating func flush(worker: Int) {
        defer {
            buffered.removeAll(keepingCapacity: true)
            bufferedCount = 0
        }
        guard failure == nil else { return }
        for (sku, records) in buffered.sorted(by: { $0.key < $1.key }) where !records.isEmpty {
            guard append(records, to: path(sku: sku)) else { return }
            let start = written[sku]
            written[sku] += records.count
            if let last = segments[sku].last, last.worker == worker, last.records.upperBound == start {
                segments[sku][segments[sku].count - 1].records = last.records.lowerBound..<written[sku]
            } else {
                segments[sku].append((worker, start..<written[sku]))
            }
        }
    }

    private mutating func append(_ records: [SaleRecord], to path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            failure = "cannot write the witness's spill file \(path): \(String(cString: strerror(errno)))"
            return false
        }
        defer { close(descriptor) }
        let complete = records.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let wrote = write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if wrote < 0, errno == EINTR { continue }
                guard wrote > 0 else { return false }
                offset += wrote
            }
            return true
        }
        if !complete {
            failure = "cannot write the witness's spill file \(path): \(String(cString: strerror(errno)))"
        }
        return complete
    }
}

/// The per-sale witness's verdict on a run, or why it could not check it.
typealias WitnessVerdict = Result<WitnessResult, WitnessNotChecked>

/// Why the per-sale witness could not check a run.
struct WitnessNotChecked: Error, Equatable {
    var reason: String
}
