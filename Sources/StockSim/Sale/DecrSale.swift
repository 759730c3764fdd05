import Hiredis

/// DECRBY per SKU; compensating INCRBYs when one went below zero; the ledger written after kept decrements. Never
/// oversells, but its ledger write is not atomic with the decrement.
struct DecrSale: SaleStrategy {
    let keys: SaleKeys

    /// Where an order stands between its commands: the next SKU to take, or the SKUs still to give back after a
    /// refusal. A cart that a Redis Cluster turns away mid-order resumes from here (see ``DecrCartRedirected``).
    enum Step: Sendable {
        /// DECRBY the SKUs from position `next` on; those before it are taken.
        case taking(next: Int)
        /// INCRBY the SKUs at the positions `owed`; `remaining` holds each SKU's stock as far as it is known.
        case givingBack(owed: [Int], remaining: [Int64?])
    }

    /// A lost DECRBY reply cannot be resolved: nothing records it until the ledger write that follows.
    var canVerify: Bool { false }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        try place(order, from: .taking(next: 0), on: connection)
    }

    /// Places `order` from `step` on. A redirect (the group's slot moved or is moving) is thrown as
    /// ``DecrCartRedirected`` with the step it met: the commands before it ran and must not run again.
    func place(_ order: Order, from step: Step, on connection: RedisConnection) throws -> SaleOutcome {
        switch step {
        case .taking(let next):
            if let refused = try take(order, from: next, on: connection) {
                return try giveBack(order, refused, on: connection)
            }
            if keys.recordsLedger { try record(order, on: connection) }
            return .sold(attempts: 1, conflicts: 0)
        case .givingBack:
            return try giveBack(order, step, on: connection)
        }
    }

    /// DECRBY each SKU from position `next` on. Returns `nil` when every decrement was kept, else the give-back step.
    private func take(_ order: Order, from next: Int, on connection: RedisConnection) throws -> Step? {
        let units = RedisArgument(order.units)
        for taken in next..<order.skus.count {
            let reply = try redirectable(.taking(next: taken), order) { () throws(RedisError) in
                try connection.send(RedisCommand("DECRBY", keys.stock[order.skus[taken]], units))
            }
            guard let left = reply.int else { throw RedisError(.protocolError, "DECRBY answered \(reply)") }
            // The decision: a decrement that went below zero is refused, and every decrement of the order given back.
            if left < 0 {
                return .givingBack(
                    owed: Array(0...taken),
                    remaining: Array(repeating: nil, count: taken + 1)
                        + Array(repeating: Int64(order.units), count: order.skus.count - taken - 1))
            }
        }
        return nil
    }

    /// INCRBY every SKU still owed, in one round trip; those a redirect turned away are still owed after it.
    private func giveBack(_ order: Order, _ step: Step, on connection: RedisConnection) throws -> SaleOutcome {
        guard case .givingBack(let owed, let known) = step else { return try place(order, from: step, on: connection) }
        var remaining = known
        let units = RedisArgument(order.units)
        let replies = try redirectable(step, order) { () throws(RedisError) in
            try connection.pipeline(owed.map { RedisCommand("INCRBY", keys.stock[order.skus[$0]], units) })
        }
        var stillOwed: [Int] = []
        var redirect: RedisError?
        for (position, reply) in zip(owed, replies) {
            if let value = reply.int {
                remaining[position] = value
                continue
            }
            guard let refusal = reply.errorReply else { throw RedisError(.protocolError, "INCRBY answered \(reply)") }
            let error = RedisError.server(refusal, command: "INCRBY")
            guard error.isClusterRedirect else { throw error }
            stillOwed.append(position)
            redirect = redirect ?? error
        }
        if let redirect {
            throw DecrCartRedirected(
                sale: self, order: order, step: .givingBack(owed: stillOwed, remaining: remaining), cause: redirect)
        }
        return .outOfStock(remaining: remaining.map { $0 ?? 0 }, attempts: 1, conflicts: 0)
    }

    /// Runs `command`, turning a cluster redirect into ``DecrCartRedirected`` at `step`.
    private func redirectable<Value>(_ step: Step, _ order: Order, _ command: () throws(RedisError) -> Value) throws
        -> Value
    {
        do {
            return try command()
        } catch {
            guard error.isClusterRedirect else { throw error }
            throw DecrCartRedirected(sale: self, order: order, step: step, cause: error)
        }
    }

    /// The ledger write after kept decrements. If the connection fails here the units are already taken: the worker
    /// reconnects within its budget and writes the entries once (`DecrLedgerWriteLost.complete`).
    private func record(_ order: Order, on connection: RedisConnection) throws {
        do {
            let replies = try connection.pipeline(keys.recordCommands(order))
            if let refusal = replies.lazy.compactMap(\.errorReply).first {
                throw RedisError.server(refusal, command: "HSETNX")
            }
        } catch let error as RedisError where error.closesConnection || error.isTransient || error.isClusterRedirect {
            // The units are taken: from here on only the ledger entry may be retried, never the decrement (also when
            // a cluster redirects the ledger write: its slot moved after the DECRBY).
            throw DecrLedgerWriteLost(order: order, cause: error)
        }
    }
}

/// A `decr` order that a Redis Cluster turned away (`MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`) part-way: its slot
/// moved between two of its commands. The commands before `step` ran, so placing the order again would take their
/// units twice; the worker resumes it at `step` on the slot's owner, where the keys moved with their values.
struct DecrCartRedirected: Error {
    var sale: DecrSale
    var order: Order
    var step: DecrSale.Step
    var cause: RedisError

    /// Places the rest of the order.
    ///
    /// - Throws: as ``DecrSale/place(_:from:on:)``.
    func resume(on connection: RedisConnection) throws -> SaleOutcome {
        try sale.place(order, from: step, on: connection)
    }
}
