/// What a worker's orders came to, counted: each worker's report carries one, and the driver's tally adds them up
/// with `+=`, so every counter is summed in one place.
struct SaleCounts: Codable, Sendable, Equatable {
    /// Units the worker was told it sold (acknowledged sales) and their orders, attempts and conflicts: what its
    /// progress messages carry, and all that is known of a worker that died before its report.
    var progress = WorkerProgress()
    /// Orders refused as out of stock.
    var rejected: Int = 0
    /// Orders given up after the retry policy's last attempt.
    var gaveUp: Int = 0
    /// Orders placed (sold, refused, given up or unresolved): the achieved rate's numerator.
    var placedOrders: Int = 0
    /// Replies lost after a write was sent (EXEC, EVALSHA, DECRBY): outcomes that had to be found out.
    var unknownOutcomes: Int = 0
    /// Unknown outcomes the ledger showed to be commits (counted in `progress.units`).
    var recovered: Int = 0
    /// Unknown outcomes no one can resolve (`decr`, or no ledger): orders and units that may or may not be sold.
    var unresolvedOrders: Int = 0
    var unresolvedUnits: Int = 0
    /// Times the worker connected again after its connection failed.
    var reconnects: Int = 0
    /// Times a Redis Cluster turned an order away before it ran (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) and the whole order
    /// was placed again on the slot's owner; never counted as conflicts.
    var redirects: Int = 0

    /// Adds another worker's counts.
    static func += (total: inout SaleCounts, other: SaleCounts) {
        total.progress += other.progress
        total.rejected += other.rejected
        total.gaveUp += other.gaveUp
        total.placedOrders += other.placedOrders
        total.unknownOutcomes += other.unknownOutcomes
        total.recovered += other.recovered
        total.unresolvedOrders += other.unresolvedOrders
        total.unresolvedUnits += other.unresolvedUnits
        total.reconnects += other.reconnects
        total.redirects += other.redirects
    }
}
