/// The verdict.
public struct AuditResult: Sendable, Hashable, Codable {
    public var passed: Bool
    /// `ledger` when the ledger was checked; `acknowledged-only` with `--no-ledger` or a ledger changed from
    /// outside; `not-performed` when Redis could not be read back (then `passed` is false and nothing was judged).
    public var checked: String
    public var violations: [AuditViolation]
    /// Facts worth knowing that are not violations (a dead worker's unacknowledged sales, for instance).
    public var notes: [String]
}
