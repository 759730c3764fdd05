import Foundation
import Hiredis

/// What Redis holds after the run: every SKU's stock and the ledgers. Every command names the keys of one group, which
/// share a hash tag, so none is cross-slot (a Redis Cluster would refuse an MGET over several groups with CROSSSLOT).
struct ReadBack {
    /// Each SKU's stock; `nil` for a key that is gone or not an integer.
    var finalStock: [Int64?]
    /// The ledgers, or `nil` for a run without one.
    var ledger: LedgerContents?
    /// Groups whose owner could not be reached (a master killed without a replica): not read, not audited.
    var unreachableGroups: [Int] = []

    /// Reads Redis back once.
    ///
    /// - Throws: `RedisError` when Redis cannot be read.
    static func read(_ layout: CatalogLayout, recordsLedger: Bool, on connection: RedisConnection) throws(RedisError)
        -> ReadBack
    {
        try read(layout, recordsLedger: recordsLedger) { _ throws(RedisError) in connection }
    }

    /// Reads Redis back once, each group from the connection `route` gives for it (its slot's owner on a cluster).
    ///
    /// - Throws: `RedisError` when Redis cannot be read.
    ///
    /// - Parameter skipUnreachable: a group whose owner cannot be reached or is down (`CLUSTERDOWN`) is left out and
    ///   named in `unreachableGroups`, rather than failing the read.
    static func read(
        _ layout: CatalogLayout, recordsLedger: Bool, skipUnreachable: Bool = false,
        route: (Int) throws(RedisError) -> RedisConnection
    ) throws(RedisError) -> ReadBack {
        var unreachable: [Int] = []
        if skipUnreachable {
            for group in 0..<layout.groups {
                do throws(RedisError) {
                    let probe = try route(group).send("EXISTS", RedisArgument(layout.runKey(group: group)))
                    _ = probe
                } catch  where error.code == .cannotConnect || error.closesConnection || error.isClusterRedirect {
                    unreachable.append(group)
                }
            }
        }
        let skipped = Set(unreachable)
        var state = try read(layout, recordsLedger: recordsLedger, skipping: skipped, route: route)
        state.unreachableGroups = unreachable
        return state
    }

    private static func read(
        _ layout: CatalogLayout, recordsLedger: Bool, skipping skipped: Set<Int>,
        route: (Int) throws(RedisError) -> RedisConnection
    ) throws(RedisError) -> ReadBack {
        var finals: [Int64?] = Array(repeating: nil, count: layout.skus)
        for group in 0..<layout.groups where !skipped.contains(group) {
            let connection = try route(group)
            let skus = layout.skus(in: group)
            for start in stride(from: 0, to: skus.count, by: 1000) {
                let chunk = skus[start..<min(start + 1000, skus.count)]
                let reply = try connection.send(
                    RedisCommand([RedisArgument("MGET")] + chunk.map { RedisArgument(layout.stockKey($0)) }))
                guard let values = reply.array, values.count == chunk.count else {
                    throw RedisError(.protocolError, "MGET answered \(reply), not \(chunk.count) values")
                }
                for (sku, value) in zip(chunk, values) { finals[sku] = value.int }
            }
        }
        let contents = recordsLedger ? try StockLedger(layout: layout).read(skipping: skipped, route: route) : nil
        return ReadBack(finalStock: finals, ledger: contents)
    }

    /// Reads Redis back, waiting for a paused, restarting or briefly unreachable server with backoff, as the workers
    /// do. Reads are idempotent: after a fault (a restart, a killed connection) connect again and read once more.
    ///
    /// - Parameter timeout: how long to keep trying.
    /// - Returns: what Redis holds, or the error that ended the tries.
    static func read(
        _ layout: CatalogLayout, recordsLedger: Bool, on router: SaleRouter, within timeout: Duration
    ) -> Result<ReadBack, RedisError> {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var pause = Duration.milliseconds(20)
        while true {
            do throws(RedisError) {
                return .success(
                    try read(layout, recordsLedger: recordsLedger) { group throws(RedisError) in
                        let connection = try router.connection(for: group)
                        if !connection.isConnected { try connection.reconnect() }
                        return connection
                    })
            } catch
                where clock.now + pause < deadline
                && (error.closesConnection || error.code == .cannotConnect || error.code == .misuse
                    || error.reply?.code == "LOADING" || error.isClusterRedirect)
            {
                router.closeAfter(error)
                if router.isCluster, clock.now + pause * 2 >= deadline {
                    // Out of time on a cluster: read every group still reachable and name the others.
                    return Result { () throws(RedisError) in
                        try read(layout, recordsLedger: recordsLedger, skipUnreachable: true) {
                            group throws(RedisError) in
                            let connection = try router.connection(for: group)
                            if !connection.isConnected { try connection.reconnect() }
                            return connection
                        }
                    }
                }
                Thread.sleep(forTimeInterval: pause / .seconds(1))
                pause = min(pause * 2, .milliseconds(500))
            } catch {
                return .failure(error)
            }
        }
    }
}
