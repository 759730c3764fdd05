import Foundation

/// Protocol v1 of a user's own client (`--strategy command --worker-command`, adapted by `CommandSale`): what StockSim tells the
/// program through its environment, and the lines each way. The README's "Your own client" is the specification.
public enum ClientProtocol {
    /// The protocol's version, in `STOCKSIM_PROTOCOL`.
    public static let version = 1

    /// The environment StockSim gives the program. The password travels only here (in the URL) or on stdin, never
    /// in its arguments, where `ps` would show it.
    /// - Parameters:
    ///   - redisURL: `redis://[[user]:password@]host[:port][/db]` or `unix:///path?db=N`.
    ///   - keys: The run's stock keys.
    ///   - ledgerKey: The ledger hash of a single-group run; `nil` with no ledger or several groups (each order
    ///     then names its own).
    ///   - runKey: The run hash (its `ledger_writes` counter) beside that ledger.
    ///   - worker: The worker's index.
    /// - Returns: `NAME=value` entries to add to the program's environment.
    public static func environment(
        redisURL: String, keys: [String], ledgerKey: String?, runKey: String?, worker: Int
    ) -> [String: String] {
        let keyList = (try? JSONEncoder().encode(keys)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        var environment = [
            "STOCKSIM_PROTOCOL": "\(version)", "STOCKSIM_REDIS_URL": redisURL, "STOCKSIM_KEYS": keyList,
            "STOCKSIM_WORKER": "\(worker)",
        ]
        if let ledgerKey { environment["STOCKSIM_LEDGER_KEY"] = ledgerKey }
        if let runKey { environment["STOCKSIM_RUN_KEY"] = runKey }
        return environment
    }
}

/// One order, one line on the program's stdin:
/// `{"order":"RUN:3:17","units":[{"key":"stock:count","units":2}],"ledger":"{stock:count}:ledger","run":"{stock:count}:run"}`.
/// `ledger` and `run` are absent when the run keeps no ledger.
public struct ClientOrder: Sendable, Hashable, Codable {
    /// The order id; the ledger field of line `i` is `ORDER|KEY` with value `UNITS/N` (N lines in the order).
    public var order: String
    /// The order's lines in cart order: all or none.
    public var units: [OrderLine]
    /// The ledger hash to record the sale in, atomically with the decrements.
    public var ledger: String?
    /// The run hash whose `ledger_writes` counts every ledger write.
    public var run: String?

    /// An order.
    /// - Parameters:
    ///   - order: The order id.
    ///   - units: The order's lines in cart order.
    ///   - ledger: The ledger hash, `nil` with no ledger.
    ///   - run: The run hash, `nil` with no ledger.
    public init(order: String, units: [OrderLine], ledger: String? = nil, run: String? = nil) {
        self.order = order
        self.units = units
        self.ledger = ledger
        self.run = run
    }

    /// The line to write, with its newline.
    /// - Throws: `EncodingError` (not expected for these fields).
    public func line() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

/// One line from the program's stdout: `ready` once, after it connected; then one outcome per order, in any order
/// the program finishes them.
public enum ClientReply: Sendable, Hashable {
    /// `ready`: connected, waiting for orders (the start barrier).
    case ready
    /// `{"order":…,"result":"sold","stock_left":[98]}`: sold; the stock left per line where known (entries may be
    /// `null`, or the field absent).
    case sold(order: String, stockLeft: [Int64?])
    /// `{"order":…,"result":"refused","stock_left":[1]}`: out of stock, nothing taken; what was left where known.
    case refused(order: String, stockLeft: [Int64?])
    /// `{"order":…,"result":"error","error":"text"}`: the outcome is unknown (StockSim counts it so).
    case error(order: String, message: String)

    private struct Outcome: Decodable {
        var order: String
        var result: String
        var stockLeft: [Int64?]?
        var error: String?

        enum CodingKeys: String, CodingKey {
            case order, result, error
            case stockLeft = "stock_left"
        }
    }

    /// Decodes one stdout line.
    /// - Parameter line: The line, without its newline.
    /// - Throws: `ClientProtocolError` quoting the line when it is not `ready` nor an outcome.
    public init(line: String) throws {
        let text = line.trimmingCharacters(in: .whitespaces)
        if text == "ready" {
            self = .ready
            return
        }
        guard let outcome = try? JSONDecoder().decode(Outcome.self, from: Data(text.utf8)) else {
            throw ClientProtocolError(
                "not a protocol v1 line (expected ready or {\"order\":…,\"result\":…}): \(text.prefix(200))")
        }
        switch outcome.result {
        case "sold": self = .sold(order: outcome.order, stockLeft: outcome.stockLeft ?? [])
        case "refused": self = .refused(order: outcome.order, stockLeft: outcome.stockLeft ?? [])
        case "error": self = .error(order: outcome.order, message: outcome.error ?? "")
        default:
            throw ClientProtocolError(
                "result \"\(outcome.result)\" is not sold, refused or error: \(text.prefix(200))")
        }
    }
}

/// A line from a user's program that breaks protocol v1.
public struct ClientProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What the line was and what was expected.
    public var message: String

    /// An error.
    /// - Parameter message: What the line was and what was expected.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
