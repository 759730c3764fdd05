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

    public var description: String { rawValue }

    /// True when the strategy's only writes to the stock are decrements and the exact compensations of its own
    /// refused decrements: then the run alone can never leave final + sold above the initial stock.
    public var onlyTakesUnits: Bool { self != .unsafe }
}
