import Foundation
import Hiredis
import Spawn
import Synchronization
import Testing

@testable import StockSim

/// The driver's witness streams each key's sales from the workers' record files (a merge over the workers, read in
/// chunks) instead of holding and sorting them: its verdict, messages and tie order must be the in-memory witness's,
/// in real runs and in records built to break the merge's assumption that a worker's own sales never rise.
@Suite("streamed per-sale witness", .serialized)
struct WitnessStreamTests {
    // MARK: records built by hand

    /// A record directory with the given files, `records[w]` being worker w's.
    static func directory(_ records: [[SaleRecord]]) throws -> SaleRecords {
        let directory = try SaleRecords.create(runID: "T\(UInt32.random(in: 0...UInt32.max))")
        for (worker, file) in records.enumerated() {
            let data = file.withUnsafeBytes { Data($0) }
            try data.write(to: URL(fileURLWithPath: directory.path(worker: worker)))
        }
        return directory
    }

    static func sold(_ sequence: Int, sku: Int = 0, units: Int = 1, left: Int64?) -> SaleRecord {
        SaleRecord(.sold, sequence: sequence, time: 0, sku: sku, units: units, stockLeft: left)
    }

    /// Both ways over the same files; the streamed verdict, after checking it equals the in-memory one (which reads
    /// the workers' files, never a catalog's spill).
    static func bothWays(
        _ records: [[SaleRecord]], skus: Int = 1, initial: Int64, final: [Int64?], reads: RecordReads? = nil
    ) throws -> WitnessResult {
        let directory = try directory(records)
        defer { directory.remove() }
        let outcomes = records.indices.map {
            WorkerOutcome(
                index: $0, pid: 0, report: nil, termination: .exited(0), peakRSSBytes: 0,
                lastProgress: WorkerProgress(), failure: nil)
        }
        let layout = CatalogLayout(key: "stock", skus: skus, groups: 1)
        func check(inMemory: Bool) -> Result<WitnessResult, WitnessNotChecked> {
            directory.witness(
                outcomes: outcomes, layout: layout, initial: initial, final: final, runID: "R",
                everyOrderFlushed: true, inMemory: inMemory, reads: inMemory ? nil : reads)
        }
        let streamed = check(inMemory: false)
        #expect(streamed == check(inMemory: true))
        return try streamed.get()
    }

    /// A correct chain of 60,000 sales of 1–3 units dealt to three workers at random: each file is longer than a
    /// chunk, so every reader refills several times mid-merge.
    @Test func aLongCorrectChainMergesAcrossChunks() throws {
        var generator = SplitMix64(seed: 11)
        var stock: Int64 = 150_000
        var files: [[SaleRecord]] = [[], [], []]
        for _ in 0..<60_000 {
            let units = Int.random(in: 1...3, using: &generator)
            stock -= Int64(units)
            let worker = Int.random(in: 0..<3, using: &generator)
            files[worker].append(Self.sold(files[worker].count, units: units, left: stock))
        }
        #expect(files.allSatisfy { $0.count > SaleRecords.chunk })
        let result = try Self.bothWays(files, initial: 150_000, final: [stock])
        #expect(result.passed, "\(result.violations.prefix(3))")
        #expect(result.keys.first?.sales == 60_000)
        // One lost sale in the middle is a gap, named by the sales around it.
        var broken = files
        let lost = broken[1].remove(at: 5_000)
        let gap = try Self.bothWays(broken, initial: 150_000, final: [stock])
        #expect(gap.violationCount == 1)
        #expect(gap.violations.first?.kind == .gap)
        #expect(
            gap.violations.first?.detail.hasPrefix("\(lost.units == 1 ? "1 unit" : "\(lost.units) units") taken")
                == true)
    }

    /// Two workers selling from the same stock (equal stock left: a tie across workers) and one worker selling the
    /// same stock twice (a tie within a worker, which the merge allows): the stale reads and their order are the
    /// in-memory witness's.
    @Test func tiesAcrossAndWithinWorkersAreOrderedAsInMemory() throws {
        let files = [
            [Self.sold(0, left: 9), Self.sold(1, left: 8), Self.sold(2, left: 8), Self.sold(3, left: 6)],
            [Self.sold(0, left: 9), Self.sold(1, left: 7), Self.sold(2, left: 6)],
            [Self.sold(0, left: 8)],
        ]
        let result = try Self.bothWays(files, initial: 10, final: [6])
        #expect(result.violations.map(\.kind) == [.staleRead, .staleRead, .staleRead, .staleRead])
        #expect(
            result.violations.first?.detail.hasPrefix("R:1:0 (worker 1, 1 unit, left 9) sold from a stock of 10")
                == true)
        #expect(result.violations.first?.earlier?.order == "R:0:0")
    }

    /// A write from outside between a worker's sales (a compensating INCRBY) makes that worker's own stock left rise,
    /// which the merge cannot order: the key goes the exact in-memory way, and the verdict is the sorted one.
    @Test func aWorkerWhoseSalesRiseIsCheckedInMemory() throws {
        let files = [
            [Self.sold(0, left: 9), Self.sold(1, left: 8), Self.sold(2, left: 12), Self.sold(3, left: 11)],
            [Self.sold(0, left: 7), Self.sold(1, left: 10)],
        ]
        let result = try Self.bothWays(files, initial: 10, final: [11])
        #expect(!result.passed)
        let kinds = Set(result.violations.map(\.kind))
        #expect(kinds.isSubset(of: [.staleRead, .gap, .chainStart, .chainEnd]) && !kinds.isEmpty, "\(result)")
        // Sorted, the first sale is the one that left 12.
        #expect(result.violations.first?.later?.stockLeft == 12, "\(result.violations)")
    }

    /// Carts: two SKUs' records interleaved in one file, unknown outcomes and an `invoke` with no completion whose
    /// units fill gaps, and a refusal; each SKU merged on its own.
    @Test func cartsAndUnknownOutcomesAreCheckedPerSKU() throws {
        let invoke = { (sequence: Int, sku: Int) in
            SaleRecord(.invoke, sequence: sequence, time: 0, sku: sku, units: 2, stockLeft: nil)
        }
        let files = [
            [
                invoke(0, 0), invoke(0, 1), Self.sold(0, sku: 0, units: 2, left: 18),
                Self.sold(0, sku: 1, units: 2, left: 18),
                SaleRecord(.unknown, sequence: 1, time: 0, sku: 0, units: 2, stockLeft: nil),
                SaleRecord(.unknown, sequence: 1, time: 0, sku: 1, units: 2, stockLeft: nil),
                Self.sold(2, sku: 0, units: 2, left: 12), Self.sold(2, sku: 1, units: 2, left: 12),
            ],
            [
                Self.sold(0, sku: 1, units: 2, left: 16), Self.sold(0, sku: 0, units: 2, left: 16),
                SaleRecord(.refused, sequence: 1, time: 0, sku: 0, units: 2, stockLeft: 12),
                invoke(2, 0), invoke(2, 1),
            ],
        ]
        let result = try Self.bothWays(files, skus: 2, initial: 20, final: [10, 8])
        #expect(result.keys.map(\.sales) == [3, 3])
        // SKU 0's two gaps are the two unknown orders; SKU 1 ends 4 units below its last sale, and after its first
        // gap only one unknown order of 2 units is left.
        #expect(result.keys.map(\.unknownOrdersSold) == [2, 1])
        #expect(result.violations.map(\.kind) == [.chainEnd], "\(result.violations)")
        #expect(result.violations.first?.key.hasSuffix("sku:1") == true)
    }

    /// A catalog: 40,000 sales of 1–3 units over 50 SKUs dealt to three workers at random, each SKU its own correct
    /// chain. Then the same with a lost sale (a gap), a sale sold twice (a stale read), and a worker whose sales on
    /// one SKU rise (that SKU checked in memory); the verdicts are the in-memory witness's every time.
    static func catalog(seed: UInt64) -> (files: [[SaleRecord]], final: [Int64]) {
        var generator = SplitMix64(seed: seed)
        var stock = [Int64](repeating: 10_000, count: 50)
        var files: [[SaleRecord]] = [[], [], []]
        for _ in 0..<40_000 {
            let sku = Int.random(in: 0..<50, using: &generator)
            let units = Int.random(in: 1...3, using: &generator)
            stock[sku] -= Int64(units)
            let worker = Int.random(in: 0..<3, using: &generator)
            files[worker].append(Self.sold(files[worker].count, sku: sku, units: units, left: stock[sku]))
        }
        return (files, stock)
    }

    @Test func aCatalogsSKUsAreMergedFromTheirSpillAsInMemory() throws {
        let (files, final) = Self.catalog(seed: 5)
        let clean = try Self.bothWays(files, skus: 50, initial: 10_000, final: final.map { $0 })
        #expect(clean.passed, "\(clean.violations.prefix(3))")
        #expect(clean.keys.count == 50 && clean.keys.map(\.sales).reduce(0, +) == 40_000)

        var broken = files
        broken[2].remove(at: 777)
        let duplicate = broken[0][1_234]
        broken[1].insert(
            Self.sold(90_000, sku: Int(duplicate.sku), units: Int(duplicate.units), left: duplicate.stockLeft),
            at: 0)
        // Worker 0's last sale on SKU 7 leaves more than its first did: its own sales rise.
        let first = try #require(broken[0].first { $0.sku == 7 })
        broken[0].append(Self.sold(90_001, sku: 7, units: 1, left: first.stockLeft + 5))
        let result = try Self.bothWays(broken, skus: 50, initial: 10_000, final: final.map { $0 })
        let kinds = Set(result.violations.map(\.kind))
        #expect(kinds.contains(.gap) && kinds.contains(.staleRead), "\(result.violations.prefix(5))")
    }

    /// Each record is read from disk a bounded number of times, whatever the number of SKUs: the first pass reads
    /// the workers' files, the merges their SKUs' spill segments (before the spill, each SKU's merge read every file
    /// again: 51 reads of each record for 50 SKUs).
    @Test func aCatalogsWitnessReadsEachRecordTwiceWhateverItsSKUs() throws {
        let (files, final) = Self.catalog(seed: 9)
        let reads = RecordReads()
        let result = try Self.bothWays(files, skus: 50, initial: 10_000, final: final.map { $0 }, reads: reads)
        #expect(result.passed)
        #expect(reads.records == 2 * 40_000, "\(reads.records) records read for 40,000 sales over 50 SKUs")
        // A single key reads its files twice too.
        let single = try #require(Self.catalog(seed: 9).files.first)
        var left: Int64 = 100_000
        let chain = single.map { record -> SaleRecord in
            left -= Int64(record.units)
            return Self.sold(Int(record.sequence), units: Int(record.units), left: left)
        }
        let once = RecordReads()
        #expect(try Self.bothWays([chain], initial: 100_000, final: [left], reads: once).passed)
        #expect(once.records == 2 * chain.count)
    }

    /// The spill's buffer fills mid-worker and again at the worker's end: each worker's sales on a SKU stay one
    /// segment of its file, in worker order, and a write that fails says so instead of a verdict.
    @Test func theSpillKeepsOneSegmentPerWorkerAndSKUAcrossFlushes() throws {
        let directory = try SaleRecords.create(runID: "S\(UInt32.random(in: 0...UInt32.max))")
        defer { directory.remove() }
        var spill = SpillFiles(directory: directory.directory, skus: 2, bufferLimit: 3)
        for worker in 0..<2 {
            for sequence in 0..<7 { spill.add(Self.sold(sequence, sku: sequence % 2, left: 100), worker: worker) }
            spill.flush(worker: worker)
        }
        #expect(spill.failure == nil)
        #expect(spill.segments[0].map(\.worker) == [0, 1] && spill.segments[0].map(\.records) == [0..<4, 4..<8])
        #expect(spill.segments[1].map(\.worker) == [0, 1] && spill.segments[1].map(\.records) == [0..<3, 3..<6])
        var reader = try #require(SaleRecordReader(path: spill.path(sku: 1), chunk: 2, records: 3..<6))
        var sequences: [Int64] = []
        while let record = reader.next() { sequences.append(record.sequence) }
        #expect(sequences == [1, 3, 5], "worker 1's sales on SKU 1")

        var unwritable = SpillFiles(directory: directory.directory + "/missing", skus: 1)
        unwritable.add(Self.sold(0, left: 1), worker: 0)
        unwritable.flush(worker: 0)
        #expect(unwritable.failure?.hasPrefix("cannot write the witness's spill file") == true)
    }

    // MARK: real runs

    let redis: SharedRedis

    init() throws {
        redis = try SharedRedis()
    }

    /// Runs a simulation and expects the streamed witness to equal the in-memory one on its records.
    func run(_ configuration: SimulationConfiguration, afterSale: (@Sendable (RedisConnection) throws -> Void)? = nil)
        throws -> (SimulationReport, WitnessResult)
    {
        var simulation = Simulation(
            configuration: configuration, redis: .url(redis.url), workerExecutable: StocksimCLI.executable)
        simulation.afterSale = afterSale
        let verdicts = Mutex<WitnessResult?>(nil)
        simulation.witnessBothWays = { streamed, inMemory in
            #expect(streamed == inMemory)
            verdicts.withLock { $0 = try? streamed.get() }
        }
        let report = try simulation.run()
        let verdict = try #require(verdicts.withLock { $0 })
        return (report, verdict)
    }

    @Test(arguments: [Strategy.watch, .lua])
    func realRunsStreamTheVerdictTheyWouldSort(strategy: Strategy) throws {
        let (report, verdict) = try run(
            SimulationConfiguration(
                key: SharedRedis.uniqueKey("stream-\(strategy)"), initialStock: 3_000,
                quantity: Quantity(parsing: "1-3"),
                strategy: strategy, workers: 4))
        #expect(report.audit.passed, "\(report.audit)")
        #expect(verdict.passed && verdict.keys.first?.sales == report.orders)
    }

    @Test func realCartRunsStreamPerSKU() throws {
        let (report, verdict) = try run(
            SimulationConfiguration(
                key: SharedRedis.uniqueKey("stream-cart"), initialStock: 2_400, strategy: .watch, workers: 3, skus: 6,
                groups: 2, cartSize: 2))
        #expect(report.audit.passed, "\(report.audit)")
        #expect(verdict.passed && verdict.keys.count == 6)
    }

    /// `unsafe` loses updates and a compensating DECRBY hides them from the totals: workers' own stock left rises,
    /// so the key takes the in-memory way, with the same stale reads.
    @Test func anUnsafeRunWithAnOutsideWriteGivesTheSortedVerdict() throws {
        let key = SharedRedis.uniqueKey("stream-unsafe")
        let (report, verdict) = try run(
            SimulationConfiguration(
                key: key, initialStock: 1_000_000, orders: 4000, strategy: .unsafe, workers: 4),
            afterSale: { connection in
                let final = try connection.send("GET", RedisArgument(key)).int ?? 0
                try connection.send("DECRBY", RedisArgument(key), RedisArgument(4000 - (1_000_000 - final)))
            })
        #expect(!verdict.passed)
        #expect(verdict.violations.contains { $0.kind == .staleRead }, "\(report.audit)")
    }
}
