extension SaleRecords {
    /// Writes the run's history (`--history FILE`): the header with every key's initial stock, every worker's events
    /// merged by time into one line each (a cart's records are one event), and the end line with the final stock.
    /// Only the driver writes the file, so no two lines interleave.
    ///
    /// - Parameters:
    ///   - writer: the open history file.
    ///   - workers: how many workers ran (their files are `w0…`).
    ///   - layout: the run's keys.
    ///   - initial: each SKU's initial stock.
    ///   - final: each SKU's stock after the run, when it was read back.
    ///   - runID: the run, for the order ids.
    /// - Throws: `HistoryError` when a write fails.
    func writeHistory(
        to writer: HistoryWriter, workers: Int, layout: CatalogLayout, initial: Int64, final: [Int64?]?,
        runID: String
    ) throws {
        let keys = (0..<layout.skus).map { layout.stockKey($0) }
        try writer.append(
            line: .header(HistoryHeader(initial: Dictionary(uniqueKeysWithValues: keys.map { ($0, initial) }))))
        // Each file read in chunks, one record ahead: the history's memory does not grow with the run either.
        let chunk = max(64, min(Self.chunk, Self.mergeBudget / max(1, workers)))
        var files = (0..<workers).map { SaleRecordReader(path: path(worker: $0), chunk: chunk) }
        var event: [SaleRecord] = []
        while true {
            // The worker whose next event is the earliest: each file is in time order already.
            var earliest: (worker: Int, time: UInt64)?
            for worker in 0..<workers {
                guard let time = files[worker]?.peek()?.time else { continue }
                if let best = earliest, best.time <= time { continue }
                earliest = (worker, time)
            }
            guard let worker = earliest?.worker, let first = files[worker]?.next() else { break }
            event.removeAll(keepingCapacity: true)
            event.append(first)
            while let record = files[worker]?.peek(), record.sequence == first.sequence,
                record.rawKind == first.rawKind
            {
                event.append(record)
                _ = files[worker]?.next()
            }
            if let line = Self.event(event[...], worker: worker, keys: keys, runID: runID) {
                try writer.append(line)
            }
        }
        if let final, !final.contains(where: { $0 == nil }) {
            try writer.append(line: .end(final: Dictionary(uniqueKeysWithValues: zip(keys, final.map { $0 ?? 0 }))))
        }
        try writer.close()
    }

    /// One order event from its records (one per SKU, in cart order).
    private static func event(
        _ records: ArraySlice<SaleRecord>, worker: Int, keys: [String], runID: String
    ) -> HistoryEvent? {
        guard let first = records.first, let kind = first.kind else { return nil }
        let order = "\(runID):\(worker):\(first.sequence)"
        let lines = records.map {
            OrderLine(key: keys.indices.contains(Int($0.sku)) ? keys[Int($0.sku)] : "?", units: Int64($0.units))
        }
        let time = first.time
        switch kind {
        case .invoke:
            return .invoke(order: order, units: lines, worker: worker, time: time)
        case .sold:
            let left = records.map { $0.stockLeft == SaleRecord.unknownLeft ? nil : $0.stockLeft }
            return .ok(order: order, units: lines, stockLeft: left, worker: worker, time: time)
        case .refused:
            let seen = records.map { $0.stockLeft == SaleRecord.unknownLeft ? "?" : String($0.stockLeft) }
            return .fail(
                order: order, units: lines, reason: .outOfStock, error: "\(seen.joined(separator: ", ")) left",
                worker: worker, time: time)
        case .gaveUp:
            return .fail(order: order, units: lines, reason: .gaveUp, worker: worker, time: time)
        case .recovered:
            // Known to have sold, but not where in the chain: for the check it is an unknown outcome.
            return .info(
                order: order, units: lines,
                error: "sold: found in the ledger after a lost reply; the stock it left is unknown", worker: worker,
                time: time)
        case .unknown:
            return .info(
                order: order, units: lines, error: "the reply was lost: the order may or may not have sold",
                worker: worker, time: time)
        }
    }
}
