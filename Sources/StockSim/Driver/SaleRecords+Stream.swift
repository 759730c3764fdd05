#if canImport(Glibc)
import Glibc
#endif

/// One worker's record file read front to back in chunks of bounded size, so that reading a file of any length takes
/// the same memory. The file is opened for each chunk and closed after it: a run of 1,000 workers merges 1,000 files
/// at once, more than a process may keep open.
struct SaleRecordReader {
    let path: String
    /// The whole records the file held when it was opened (a torn last record, from a worker killed mid-write, is not
    /// a record).
    private(set) var count: Int
    /// Only this SKU's records (nil: every record).
    let sku: Int32?
    /// Allocated at the first read, not when the reader is made: a reader copied before it reads (into a merge that
    /// outlives its caller's array) must not share a buffer that the first read would then copy.
    private var chunk: [SaleRecord] = []
    private let chunkSize: Int
    private var held = 0
    private var position = 0
    private var read = 0
    /// A read failed after the file was opened: what was read is not the whole file.
    private(set) var failed = false
    /// Counts the records this reader reads from disk, when given.
    private let tally: RecordReads?

    /// Opens `path` and learns its size; `nil` when it cannot be opened.
    ///
    /// - Parameters:
    ///   - chunk: records read at a time.
    ///   - sku: only this SKU's records, or every record.
    ///   - records: only the records at these positions of the file (a segment of a SKU's spill file), or all.
    ///   - tally: counts the records read from disk.
    init?(path: String, chunk: Int, sku: Int32? = nil, records: Range<Int>? = nil, tally: RecordReads? = nil) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        self.path = path
        self.sku = sku
        self.tally = tally
        let whole = Int(status.st_size) / MemoryLayout<SaleRecord>.stride
        count = min(whole, records?.upperBound ?? whole)
        read = min(count, max(0, records?.lowerBound ?? 0))
        chunkSize = max(1, min(chunk, count - read))
    }

    /// The next record (of `sku`, when given), or `nil` at the end of the file or after a failed read.
    mutating func next() -> SaleRecord? {
        while true {
            if position == held {
                guard read < count, refill() else { return nil }
            }
            let record = chunk[position]
            position += 1
            if let sku, record.sku != sku { continue }
            return record
        }
    }

    /// The next record without taking it.
    mutating func peek() -> SaleRecord? {
        guard let record = next() else { return nil }
        position -= 1
        return record
    }

    private mutating func refill() -> Bool {
        let stride = MemoryLayout<SaleRecord>.stride
        if chunk.isEmpty {
            chunk = Array(
                repeating: SaleRecord(.invoke, sequence: 0, time: 0, sku: 0, units: 0, stockLeft: nil),
                count: chunkSize)
        }
        let wanted = min(chunk.count, count - read)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            failed = true
            return false
        }
        defer { close(descriptor) }
        let offset = read * stride
        var filled = 0
        chunk.withUnsafeMutableBytes { raw in
            guard let start = raw.baseAddress else { return }
            while filled < wanted * stride {
                let got = pread(descriptor, start + filled, wanted * stride - filled, off_t(offset + filled))
                if got < 0, errno == EINTR { continue }
                if got < 0 { failed = true }
                if got <= 0 { break }
                filled += got
            }
        }
        held = filled / stride
        position = 0
        read += held
        tally?.records += held
        // Shorter than when it was opened: the file ends here.
        if held < wanted { count = read }
        return held > 0 && !failed
    }
}

/// How many records the witness's readers took from disk: the cost of its passes, for the tests that keep it
/// bounded.
final class RecordReads {
    var records = 0
}

/// One key's sales merged from every worker's record file, highest stock left first: a heap over the workers, each
/// read in chunks, so the merge holds one chunk a worker whatever the number of sales. Exact only when each worker's
/// own sales on the key never rise (true of a correct run: a worker's sales on a key come one after another, each
/// from the stock the previous left); ties go to the earlier worker in `readers`, then to the earlier record — the
/// order the in-memory witness sorts ties into. A class, so that the chain check's loop and the caller see one merge
/// (the caller asks it afterwards whether a read failed).
final class ChainMerge: Sequence, IteratorProtocol {
    private var readers: [SaleRecordReader]
    private let workers: [Int32]
    private var heads: [Witness.Link?]
    /// Indices into `readers`, a binary heap on (stock left, highest first; then index).
    private var heap: [Int] = []
    /// A reader whose read failed: the merge did not see every sale.
    private(set) var failedWorker: Int?

    /// - Parameters:
    ///   - readers: per worker, its records of the key (the reader filters by SKU).
    ///   - workers: the worker index of each reader, for the sales' names.
    init(readers: [SaleRecordReader], workers: [Int]) {
        self.readers = readers
        self.workers = workers.map { Int32(clamping: $0) }
        heads = Array(repeating: nil, count: readers.count)
        for index in readers.indices {
            heads[index] = nextSale(index)
            if heads[index] != nil { push(index) }
        }
    }

    func next() -> Witness.Link? {
        guard let top = heap.first, let link = heads[top] else { return nil }
        heads[top] = nextSale(top)
        if heads[top] != nil {
            siftDown(0)
        } else {
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                siftDown(0)
            }
        }
        return link
    }

    /// A worker's next sale with a known stock left.
    private func nextSale(_ index: Int) -> Witness.Link? {
        while let record = readers[index].next() {
            guard record.kind == .sold, record.stockLeft != SaleRecord.unknownLeft else { continue }
            return Witness.Link(
                stockLeft: record.stockLeft, units: Int64(record.units), order: Swift.max(0, record.sequence),
                worker: workers[index])
        }
        if readers[index].failed, failedWorker == nil { failedWorker = Int(workers[index]) }
        return nil
    }

    /// Whether reader `a`'s head goes before reader `b`'s.
    private func before(_ a: Int, _ b: Int) -> Bool {
        guard let left = heads[a], let right = heads[b] else { return heads[a] != nil }
        return left.stockLeft != right.stockLeft ? left.stockLeft > right.stockLeft : a < b
    }

    private func push(_ index: Int) {
        heap.append(index)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var first = left
            if left + 1 < heap.count, before(heap[left + 1], heap[left]) { first = left + 1 }
            guard before(heap[first], heap[parent]) else { return }
            heap.swapAt(first, parent)
            parent = first
        }
    }
}
