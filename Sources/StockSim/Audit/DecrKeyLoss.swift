/// `decr` and a stock key deleted mid-run. `watch` and `lua` read the key before they take from it and stop on a
/// missing key (exit status 2); `decr`'s DECRBY creates a missing key at −units, its compensation puts it at 0, and
/// the run ends as if sold out. No single reply tells a deleted key from one at 0, so the proof comes from the audit:
/// every decrement `decr` keeps is a recorded sale or an unresolved order, so a stock that lost more than those
/// (`stock-changed-outside`, final + sold < initial) was deleted or decremented by another client. Such a run did not
/// complete, as `watch` and `lua` runs on a deleted key do not.
enum DecrKeyLoss {
    /// The units lost from outside a `decr` run, or `nil` when none were or the strategy reads its key first.
    static func units(_ strategy: Strategy, _ audit: AuditResult, initial: Int64, final: Int64?, sold: Int64) -> Int64?
    {
        guard strategy == .decr, let final, final + sold < initial,
            audit.violations.contains(where: { $0.kind == .stockChangedOutside })
        else { return nil }
        return initial - final - sold
    }
}
