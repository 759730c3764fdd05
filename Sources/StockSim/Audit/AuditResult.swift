/// The verdict.
public struct AuditResult: Sendable, Hashable, Codable {
    public var passed: Bool
    /// `ledger` when the ledger was checked; `acknowledged-only` with `--no-ledger`.
    public var checked: String
    public var violations: [AuditViolation]
    /// Facts worth knowing that are not violations (a dead worker's unacknowledged sales, for instance).
    public var notes: [String]
}
