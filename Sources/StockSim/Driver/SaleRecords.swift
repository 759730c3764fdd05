import Foundation

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
    func read(worker: Int) -> [SaleRecord]? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/w\(worker).records") else { return nil }
        let stride = MemoryLayout<SaleRecord>.stride
        return data.withUnsafeBytes { raw in
            (0..<(raw.count / stride)).map { raw.loadUnaligned(fromByteOffset: $0 * stride, as: SaleRecord.self) }
        }
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
            feed(records, worker: outcome.index, layout: layout, runID: runID, into: &witness)
        }
        return .success(witness.check())
    }

    /// Sales go into the chains; unknown outcomes, sales nobody saw the stock of and `invoke`s with no completion
    /// (a worker killed mid-order) go in as unknown, so a gap they explain is not a violation.
    private func feed(
        _ records: [SaleRecord], worker: Int, layout: CatalogLayout, runID: String, into witness: inout Witness
    ) {
        var pending: [Int64: [OrderLine]] = [:]
        let keys = (0..<layout.skus).map { layout.stockKey($0) }
        // Per SKU, its sales in record order, handed to the witness in one call per SKU.
        var sales = [[(sequence: Int64, units: Int64, stockLeft: Int64)]](repeating: [], count: layout.skus)
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
