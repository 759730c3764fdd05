/// Runs the per-sale witness over a history: pairs each completion with its invoke, counts the outcomes, and feeds
/// acknowledged sales (`ok`) and unknown outcomes (`info`, and invokes never completed) to a `Witness`.
///
/// A history must keep Jepsen's order: an order's `invoke` comes before its completion, and an order is not invoked
/// again while it is open. A line that breaks this is malformed, with its number.
public struct HistoryCheck: Sendable {
    /// How many orders ended how.
    public struct Counts: Sendable, Hashable, Codable {
        public var invoked = 0
        public var ok = 0
        public var fail = 0
        public var info = 0
        /// Invoked and never completed: judged as unknown outcomes.
        public var unfinished = 0
    }

    /// The outcome counts so far.
    public private(set) var counts = Counts()
    /// The header, when the history has one.
    public private(set) var header: HistoryHeader?
    /// The final stock from the closing `end` line, when the history has one.
    public private(set) var endFinal: [String: Int64]?
    private var open: [String: (worker: Int, lines: [OrderLine])] = [:]
    private var witness = Witness()
    private var seenLine = false
    private var keys: [String] = []
    private var knownKeys: Set<String> = []

    /// An empty check.
    public init() {}

    /// Takes the next line of the history.
    /// - Parameters:
    ///   - line: The line.
    ///   - number: Its 1-based line number, for errors.
    /// - Throws: `HistoryError` with code `malformedLine` when the line breaks the history's order.
    public mutating func add(_ line: HistoryLine, number: Int) throws {
        defer { seenLine = true }
        func malformed(_ text: String) -> HistoryError {
            HistoryError(.malformedLine, "line \(number): \(text)", line: number)
        }
        if endFinal != nil { throw malformed("a line after the closing \"end\" line") }
        switch line {
        case .header(let header):
            guard !seenLine else { throw malformed("a header that is not the first line") }
            self.header = header
        case .end(let final):
            endFinal = final
        case .event(let event):
            if let units = event.units {
                if let bad = units.first(where: { $0.units <= 0 }) {
                    throw malformed(
                        "order \(event.order) takes \(NumberText.count(bad.units, "unit")) of \(bad.key); units are positive"
                    )
                }
                if units.isEmpty { throw malformed("order \(event.order) has no order lines") }
            }
            if event.type == .invoke {
                guard let units = event.units else { throw malformed("the invoke of \(event.order) has no \"units\"") }
                guard open[event.order] == nil else {
                    throw malformed("order \(event.order) invoked again before it completed")
                }
                open[event.order] = (event.worker, units)
                counts.invoked += 1
                for line in units where knownKeys.insert(line.key).inserted { keys.append(line.key) }
                return
            }
            guard let invoked = open.removeValue(forKey: event.order) else {
                throw malformed(
                    "\"\(event.type.rawValue)\" for order \(event.order), which is not open (no invoke before it)")
            }
            if let units = event.units, units != invoked.lines {
                throw malformed("order \(event.order)'s \"units\" differ from its invoke's")
            }
            switch event.type {
            case .ok:
                let left = event.stockLeft ?? []
                guard event.stockLeft == nil || left.count == invoked.lines.count else {
                    throw malformed(
                        "order \(event.order) has \(NumberText.count(left.count, "\"stock_left\" entry", plural: "\"stock_left\" entries")) for \(NumberText.count(invoked.lines.count, "order line"))"
                    )
                }
                counts.ok += 1
                witness.recordSale(order: event.order, worker: invoked.worker, lines: invoked.lines, stockLeft: left)
            case .fail:
                guard event.reason != nil else {
                    throw malformed("the fail of \(event.order) has no \"reason\" (out-of-stock, gave-up or error)")
                }
                counts.fail += 1
            case .info:
                counts.info += 1
                witness.recordUnknown(lines: invoked.lines)
            case .invoke:
                break
            }
        }
    }

    /// Every key the history names: in its events, then in its header.
    public var keysSeen: [String] {
        keys + (header?.initial ?? [:]).keys.filter { !knownKeys.contains($0) }.sorted()
    }

    /// Keys with no initial stock from `initial` or the header.
    /// - Parameter initial: Initial stock given from outside the history.
    /// - Returns: The keys the check cannot start.
    public func keysWithoutInitial(_ initial: StockGiven) -> [String] {
        keysSeen.filter { initial.stock(for: $0, fallback: header?.initial?[$0]) == nil }
    }

    /// Judges the history.
    /// - Parameters:
    ///   - initial: Initial stock given from outside the history; overrides the header's.
    ///   - final: Final stock given from outside the history; overrides the header's and the `end` line's.
    ///   - violationLimit: How many violations to list; all are counted.
    /// - Returns: The witness's verdict and the counts.
    public func finish(initial: StockGiven = .none, final: StockGiven = .none, violationLimit: Int = 100)
        -> HistoryCheckResult
    {
        var witness = witness
        var counts = counts
        for invoked in open.values {
            counts.unfinished += 1
            witness.recordUnknown(lines: invoked.lines)
        }
        for key in keysSeen {
            if let stock = initial.stock(for: key, fallback: header?.initial?[key]) {
                witness.setInitial(stock, for: key)
            }
            if let stock = final.stock(for: key, fallback: endFinal?[key] ?? header?.final?[key]) {
                witness.setFinal(stock, for: key)
            }
        }
        return HistoryCheckResult(counts: counts, witness: witness.check(violationLimit: violationLimit))
    }

    /// Reads the history file at `path` and judges it.
    /// - Parameters:
    ///   - path: The history file.
    ///   - initial: Initial stock given from outside the history.
    ///   - final: Final stock given from outside the history.
    /// - Returns: The verdict.
    /// - Throws: `HistoryError`: `cannotOpen`, `readFailed`, or `malformedLine` with the line's number.
    public static func check(path: String, initial: StockGiven = .none, final: StockGiven = .none) throws
        -> HistoryCheckResult
    {
        try read(path: path).finish(initial: initial, final: final)
    }

    /// Reads every line of the history file at `path`.
    /// - Parameter path: The history file.
    /// - Returns: The check, ready to `finish`.
    /// - Throws: `HistoryError`: `cannotOpen`, `readFailed`, or `malformedLine` with the line's number.
    public static func read(path: String) throws -> HistoryCheck {
        let reader = try HistoryReader(path: path)
        var check = HistoryCheck()
        while let (number, line) = try reader.next() {
            do {
                try check.add(line, number: number)
            } catch let error as HistoryError {
                let text = error.message.hasPrefix("line ") ? String(error.message.dropFirst(5)) : error.message
                throw HistoryError(.malformedLine, "\(path):\(text)", line: error.line)
            }
        }
        return check
    }
}

/// What `HistoryCheck` found.
public struct HistoryCheckResult: Sendable, Hashable, Codable {
    /// How many orders ended how.
    public var counts: HistoryCheck.Counts
    /// The witness's verdict.
    public var witness: WitnessResult
}
