import Foundation
import Hiredis

extension WorkerProcess {
    /// Places one order and sees it through connection failures: reconnects with jittered backoff for up to the
    /// reconnect timeout, and after a lost reply retries the same order id only where the ledger makes that safe.
    ///
    /// - Returns: the outcome, or `nil` when the order's fate cannot be known (counted as unresolved).
    /// - Throws: `WorkerStop` when Redis stays unreachable; `RedisError` / `StockKeyError` for failures no retry fixes.
    static func placeSurvivingFaults(
        _ order: Order, sale: any SaleStrategy, keys: SaleKeys, configuration: SimulationConfiguration,
        router: SaleRouter, report: inout WorkerReport
    ) throws -> SaleOutcome? {
        let clock = ContinuousClock()
        var verify = false
        var failingSince: ContinuousClock.Instant?
        var redirectedSince: ContinuousClock.Instant?
        // A decr cart turned away part-way resumes where it stopped, never from its first SKU again.
        var resuming: DecrCartRedirected?
        while true {
            do {
                let connection = try router.connection(for: order.group)
                if !connection.isConnected {
                    try reconnect(
                        connection, since: failingSince ?? clock.now, configuration: configuration, report: &report)
                }
                if let resuming { return try resuming.resume(on: connection) }
                return try sale.place(order, verify: verify, on: connection)
            } catch is ClientOutcomeUnknown {
                // The user's program said `error`: nobody knows whether the order sold.
                report.counts.unknownOutcomes += 1
                report.counts.unresolvedOrders += 1
                report.counts.unresolvedUnits += order.totalUnits
                return nil
            } catch let redirected as DecrCartRedirected {
                resuming = redirected
                report.counts.redirects += 1
                redirectedSince = redirectedSince ?? clock.now
                try pauseWhileTransient(
                    redirected.cause, since: redirectedSince ?? clock.now, configuration: configuration)
                try? router.follow(redirected.cause)
            } catch let lost as DecrLedgerWriteLost {
                // The units are taken; only the ledger entry is in doubt. Write it once, after reconnecting.
                failingSince = failingSince ?? clock.now
                while true {
                    do {
                        let connection = try router.connection(for: order.group)
                        try reconnect(
                            connection, since: failingSince ?? clock.now, configuration: configuration, report: &report)
                        _ = try lost.complete(keys: keys, on: connection)
                        return .sold(attempts: 1, conflicts: 0)
                    } catch let error as RedisError where error.closesConnection {
                        continue
                    } catch let error as RedisError
                        where router.isCluster && (error.isClusterRedirect || error.code == .cannotConnect)
                    {
                        // The group's slot moved after the DECRBY: write the entries on its new owner.
                        if error.isClusterRedirect { report.counts.redirects += 1 }
                        try pauseWhileTransient(error, since: failingSince ?? clock.now, configuration: configuration)
                        try? router.follow(error)
                    } catch let error as RedisError where error.isTransient {
                        try pauseWhileTransient(error, since: failingSince ?? clock.now, configuration: configuration)
                    } catch let error as RedisError {
                        throw RedisError(
                            error.code,
                            "decr took \(NumberText.count(lost.order.totalUnits, "unit")) for order \(lost.order.id) but cannot record it in the ledger: \(error.message)",
                            reply: error.reply)
                    }
                }
            } catch let error as RedisError
                where router.isCluster && (error.isClusterRedirect || error.code == .cannotConnect)
            {
                // The cluster turned the order away before it ran (a slot moved or moving, a failover under way):
                // place the whole order again on the slot's owner, keeping what a lost reply left to verify.
                if error.isClusterRedirect { report.counts.redirects += 1 }
                redirectedSince = redirectedSince ?? clock.now
                try pauseWhileTransient(error, since: redirectedSince ?? clock.now, configuration: configuration)
                try? router.follow(error)
            } catch let error as RedisError where error.isTransient {
                // A restarted server replaying its append-only file, or a busy script: nothing ran; wait and retry.
                failingSince = failingSince ?? clock.now
                try pauseWhileTransient(error, since: failingSince ?? clock.now, configuration: configuration)
            } catch let error as RedisError where error.closesConnection {
                failingSince = failingSince ?? clock.now
                // A watch transaction knows when EXEC was sent; for one-command strategies any lost reply may be a
                // write that happened.
                let unknown = error.code == .outcomeUnknown || configuration.strategy != .watch
                if unknown {
                    report.counts.unknownOutcomes += 1
                    guard sale.canVerify else {
                        report.counts.unresolvedOrders += 1
                        report.counts.unresolvedUnits += order.totalUnits
                        try reconnect(
                            router.connection(for: order.group), since: failingSince ?? clock.now,
                            configuration: configuration, report: &report)
                        return nil
                    }
                    verify = true
                }
            }
        }
    }

    /// Waits a little after a transient refusal, within the reconnect timeout measured from `since`.
    static func pauseWhileTransient(
        _ error: RedisError, since: ContinuousClock.Instant, configuration: SimulationConfiguration
    )
        throws(WorkerStop)
    {
        if ContinuousClock().now - since > .milliseconds(configuration.reconnectTimeoutMilliseconds) {
            throw WorkerStop(message: "Redis stayed unavailable past the reconnect timeout: \(error.message)")
        }
        Thread.sleep(forTimeInterval: 0.02)
    }

    /// Connects again, backing off with full jitter (20 ms doubling to 1 s), until the reconnect timeout measured from
    /// `since` runs out.
    static func reconnect(
        _ connection: RedisConnection, since: ContinuousClock.Instant, configuration: SimulationConfiguration,
        report: inout WorkerReport
    ) throws(WorkerStop) {
        let clock = ContinuousClock()
        let budget = Duration.milliseconds(configuration.reconnectTimeoutMilliseconds)
        var ceiling = Duration.milliseconds(20)
        var random = SplitMix64(
            seed: UInt64(UInt(bitPattern: ObjectIdentifier(connection).hashValue))
                ^ UInt64(UInt(bitPattern: clock.now.hashValue)))
        var lastError = connection.closingError?.message ?? "the connection was closed"
        while true {
            if clock.now - since > budget {
                throw WorkerStop(
                    message: "Redis was unreachable for more than the reconnect timeout (\(budget)): \(lastError)")
            }
            do {
                try connection.reconnect()
                report.counts.reconnects += 1
                return
            } catch {
                lastError = error.message
            }
            let pause = Duration.nanoseconds(Int64.random(in: 0..<Int64(ceiling / .nanoseconds(1)), using: &random))
            Thread.sleep(forTimeInterval: pause / .seconds(1))
            ceiling = min(ceiling * 2, .seconds(1))
        }
    }
}

/// A worker gives up: Redis stayed unreachable past the reconnect timeout.
struct WorkerStop: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
