import Foundation
import Hiredis

/// How a worker takes units from the stock.
public enum Strategy: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// WATCH, GET, and if enough units remain, MULTI / DECRBY / ledger entry / EXEC; retry on conflict.
    case watch
    /// One EVALSHA of a check-and-decrement script that also writes the ledger.
    case lua
    /// DECRBY, with a compensating INCRBY when the result went below zero; the ledger is written after a kept
    /// decrement (so not atomically with it).
    case decr
    /// GET then SET with no WATCH: deliberately broken, to show that the audit catches oversell.
    case unsafe
    /// The user's own Lua script under contract v1 (`--script FILE.lua`), one EVALSHA per order.
    case script
    /// The user's own client program (`--worker-command 'CMD ARGS…'`), protocol v1, spawned as each worker's seller.
    case command

    public var description: String { rawValue }

    /// True when the strategy's only writes to the stock are decrements and the exact compensations of its own
    /// refused decrements: then the run alone can never leave final + sold above the initial stock. Never true of
    /// the user's own code (`script`, `command`), which StockSim cannot vouch for: a unit it puts back is its own.
    public var onlyTakesUnits: Bool { self == .watch || self == .lua || self == .decr }

    /// StockSim's own strategies, which need no file of the user's (a sweep compares these).
    public static var ownStrategies: [Strategy] { allCases.filter { $0 != .script && $0 != .command } }
}
