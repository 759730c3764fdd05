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
    /// The second walks each SKU's chain from a merge of the workers' files (`ChainMerge`), sorted as the in-memory
    /// witness sorts it, through the same check. A SKU where some worker's sales rise (a broken run, or a write from
    /// outside between them) is checked the exact in-memory way instead, so the verdict is always the sorted one.
    /// A catalog's SKUs are merged one at a time, each reading every file again (its records filtered by SKU).
    ///
    /// - Parameters:
    ///   - outcomes: how each worker ended (a worker without a report died).
    ///   - layout: the run's keys.
    ///   - initial: each SKU's initial stock.
    ///   - final: each SKU's stock after the run, as read back.
    ///   - runID: the run, for the order ids.
    ///   - everyOrderFlushed: workers wrote their records before every order, so a dead worker's file is whole.
    ///   - inMemory: check every SKU the in-memory way (tests compare the two).
    /// - Returns: the verdict, or why the chains could not be checked.
    func witness(
        outcomes: [WorkerOutcome], layout: CatalogLayout, initial: Int64, final: [Int64?], runID: String,
        everyOrderFlushed: Bool, inMemory: Bool = false
    ) -> Result<WitnessResult, WitnessNotChecked> {
        var skus = [SKUSales](repeating: SKUSales(), count: layout.skus)
        for outcome in outcomes {
            if outcome.report == nil && !everyOrderFlushed {
                return .failure(
                    WitnessNotChecked(
                        reason:
                            "worker \(outcome.index) (pid \(outcome.pid)) died before writing its last sale records, so its latest sales are unknown"
                    ))
            }
            guard var reader = SaleRecordReader(path: path(worker: outcome.index), chunk: Self.chunk) else {
                return .failure(WitnessNotChecked(reason: "worker \(outcome.index) left no sale records"))
            }
            Self.tally(&reader, into: &skus)
            if reader.failed {
                return .failure(WitnessNotChecked(reason: "worker \(outcome.index) left no sale records"))
            }
        }
        var tally = WitnessTally(violationLimit: 100)
        let workers = outcomes.map(\.index)
        for sku in skus.indices {
            let key = layout.stockKey(sku)
            let counted = Witness.ChainTally(
                initial: initial, final: final[sku], sales: skus[sku].sales, units: skus[sku].units,
                unknown: skus[sku].unknown, unplaced: 0)
            guard skus[sku].inOrder && !inMemory else {
                switch inMemoryWitness(sku: sku, key: key, tally: counted, workers: workers, runID: runID) {
                case .success(let result): tally.add(result)
                case .failure(let failure): return .failure(failure)
                }
                continue
            }
            let chunk = max(64, min(Self.chunk, Self.mergeBudget / max(1, workers.count)))
            var readers: [SaleRecordReader] = []
            for worker in workers {
                guard let reader = SaleRecordReader(path: path(worker: worker), chunk: chunk, sku: Int32(sku)) else {
                    return .failure(WitnessNotChecked(reason: "worker \(worker) left no sale records"))
                }
                readers.append(reader)
            }
            let merge = ChainMerge(readers: readers, workers: workers)
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
    private static func tally(_ reader: inout SaleRecordReader, into skus: inout [SKUSales]) {
        var pending: [Int64: [(sku: Int, units: Int64)]] = [:]
        for sku in skus.indices { skus[sku].last = nil }
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

    /// One SKU checked the in-memory way: its sales from every file, sorted. Only for a SKU some worker's sales on
    /// which rose, which a correct run never shows.
    private func inMemoryWitness(
        sku: Int, key: String, tally: Witness.ChainTally, workers: [Int], runID: String
    ) -> Result<WitnessResult, WitnessNotChecked> {
        var witness = Witness()
        witness.setInitial(tally.initial ?? 0, for: key)
        if let final = tally.final { witness.setFinal(final, for: key) }
        var sales: [(sequence: Int64, units: Int64, stockLeft: Int64)] = []
        for worker in workers {
            guard var reader = SaleRecordReader(path: path(worker: worker), chunk: Self.chunk, sku: Int32(sku)) else {
                return .failure(WitnessNotChecked(reason: "worker \(worker) left no sale records"))
            }
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

/// The per-sale witness's verdict on a run, or why it could not check it.
typealias WitnessVerdict = Result<WitnessResult, WitnessNotChecked>

/// Why the per-sale witness could not check a run.
struct WitnessNotChecked: Error, Equatable {
    var reason: String
}
