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

    /// One worker's records, in the order it wrote them; `nil` when its file cannot be read.
    ///
    /// read(2) straight into the array's storage: a worker of a long run leaves tens of MB, and reading them into a
    /// `Data` first would fault in and copy every page twice.
    func read(worker: Int) -> [SaleRecord]? {
        let descriptor = open("\(directory)/w\(worker).records", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        let stride = MemoryLayout<SaleRecord>.stride
        let capacity = Int(status.st_size) / stride
        var failed = false
        let records = [SaleRecord](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var filled = 0
            while filled < capacity * stride, let start = raw.baseAddress {
                let count = Glibc.read(descriptor, start + filled, capacity * stride - filled)
                if count < 0, errno == EINTR { continue }
                if count < 0 { failed = true }
                if count <= 0 { break }
                filled += count
            }
            // A torn last record (a worker killed mid-write) is not a record.
            initialized = filled / stride
        }
        return failed ? nil : records
    }

    /// Feeds every worker's records to the per-sale witness and checks the chains.
    ///
    /// - Parameters:
    ///   - outcomes: how each worker ended (a worker without a report died).
    ///   - layout: the run's keys.
    ///   - initial: each SKU's initial stock.
    ///   - final: each SKU's stock after the run, as read back.
    ///   - runID: the run, for the order ids.
    ///   - everyOrderFlushed: workers wrote their records before every order, so a dead worker's file is whole.
    /// - Returns: the verdict, or why the chains could not be checked.
    func witness(
        outcomes: [WorkerOutcome], layout: CatalogLayout, initial: Int64, final: [Int64?], runID: String,
        everyOrderFlushed: Bool
    ) -> Result<WitnessResult, WitnessNotChecked> {
        var witness = Witness()
        // Per SKU, one worker's sales at a time; kept between workers so their pages are faulted in once.
        var sales = [[(sequence: Int64, units: Int64, stockLeft: Int64)]](repeating: [], count: layout.skus)
        for sku in 0..<layout.skus {
            witness.setInitial(initial, for: layout.stockKey(sku))
            if let stock = final[sku] { witness.setFinal(stock, for: layout.stockKey(sku)) }
        }
        for outcome in outcomes {
            if outcome.report == nil && !everyOrderFlushed {
                return .failure(
                    WitnessNotChecked(
                        reason:
                            "worker \(outcome.index) (pid \(outcome.pid)) died before writing its last sale records, so its latest sales are unknown"
                    ))
            }
            guard let records = read(worker: outcome.index) else {
                return .failure(WitnessNotChecked(reason: "worker \(outcome.index) left no sale records"))
            }
            feed(records, worker: outcome.index, layout: layout, runID: runID, into: &witness, sales: &sales)
        }
        return .success(witness.check())
    }

    /// Sales go into the chains; unknown outcomes, sales nobody saw the stock of and `invoke`s with no completion
    /// (a worker killed mid-order) go in as unknown, so a gap they explain is not a violation.
    ///
    /// - Parameter sales: per SKU, its sales in record order, handed to the witness in one call per SKU; emptied,
    ///   capacity kept.
    private func feed(
        _ records: [SaleRecord], worker: Int, layout: CatalogLayout, runID: String, into witness: inout Witness,
        sales: inout [[(sequence: Int64, units: Int64, stockLeft: Int64)]]
    ) {
        var pending: [Int64: [OrderLine]] = [:]
        let keys = (0..<layout.skus).map { layout.stockKey($0) }
        for sku in sales.indices { sales[sku].removeAll(keepingCapacity: true) }
        for record in records {
            let sku = Int(record.sku)
            switch record.kind {
            case .invoke?:
                pending[record.sequence, default: []].append(OrderLine(key: keys[sku], units: Int64(record.units)))
                continue
            case .sold? where record.stockLeft != SaleRecord.unknownLeft:
                sales[sku].append((record.sequence, Int64(record.units), record.stockLeft))
            case .sold?, .recovered?, .unknown?, nil:
                witness.recordUnknown(lines: [OrderLine(key: keys[sku], units: Int64(record.units))])
            case .refused?, .gaveUp?:
                break
            }
            if !pending.isEmpty { pending[record.sequence] = nil }
        }
        for (sku, sold) in sales.enumerated() {
            witness.recordSales(sold, worker: worker, runID: runID, on: keys[sku])
        }
        for lines in pending.values { witness.recordUnknown(lines: lines) }
    }
}

/// Why the per-sale witness could not check a run.
struct WitnessNotChecked: Error {
    var reason: String
}
