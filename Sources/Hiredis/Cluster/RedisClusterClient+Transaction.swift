// An optimistic transaction on a cluster runs on the master of the one slot all its keys share. It is three round
// trips to that node: [ASKING] WATCH keys, [ASKING] read; then the body decides; then [ASKING] MULTI, commands, EXEC.
// (ASKING before MULTI keeps its flag for the whole transaction, as Redis clears it only outside MULTI; ASKING
// inside MULTI would be queued instead.) These are the reply sequences an attempt can meet, and what the client does:
//
// 1. The slot is served here: WATCH +OK, the read's reply; MULTI +OK, +QUEUED per command, EXEC `*N` (committed) or
//    a null array (a conflict: a watched key changed; counted in `conflicts` and retried under the policy).
// 2. The slot moved away before the attempt (a stale map, a finished migration, a failover): WATCH answers -MOVED.
//    The map is updated and the whole attempt runs again on the new owner.
// 3. The slot moved between WATCH and the read, or while the body ran: the read, or every queued command, answers
//    -MOVED; Redis then answers EXEC with -EXECABORT and nothing ran. The first redirect among the queued replies is
//    followed with the whole attempt.
// 4. The slot is migrating and the keys are gone from here: WATCH (or a queued command) answers -ASK; the attempt
//    runs again on the importing node, with ASKING before WATCH, the read and MULTI, once, without changing the map.
//    When the keys are split between the two nodes, a multi-key WATCH or command answers -TRYAGAIN instead: the
//    attempt waits (backoff under `configuration.retry`) and runs again. -CLUSTERDOWN, -LOADING and
//    -MASTERDOWN are waited out the same way.
// 5. The slot moved, or started or finished migrating, after the commands were queued and before EXEC (all +QUEUED):
//    EXEC itself answers -MOVED, -ASK or -TRYAGAIN; Redis discarded the transaction. Followed as in 2 and 4.
// 6. A command was refused for another reason (arity, ACL, OOM): +QUEUED..., -ERR..., -EXECABORT. Thrown as on one
//    server, naming the refusal: retrying would meet it again.
//
// A redirect at any point discards the attempt and counts it in `redirects`, never in `conflicts`; after
// `maxRedirects` of them the transaction throws `.tooManyRedirects`. A connection that breaks after EXEC was sent
// leaves the outcome unknown (`.outcomeUnknown`), and that is never retried here.

extension RedisClusterClient: OptimisticTransactionRunner {
    /// Runs an optimistic transaction on the master of its slot: the loop of ``RedisConnection/run(_:_:)``, with the
    /// cluster's redirects followed between attempts (see the comment at the top of this file for every reply
    /// sequence).
    ///
    /// Every watched key and every key of the read must hash to one slot; that is checked before anything is sent.
    /// The keys of the commands the body commits must hash to the same slot; that is checked before MULTI is sent.
    ///
    /// - Parameters:
    ///   - transaction: the watched keys, the first read and the retry policy.
    ///   - body: reads `attempt.read` (and may read more on `attempt.connection`, the slot owner's connection) and
    ///     decides. It may run several times, on different nodes. An error it throws is rethrown after UNWATCH.
    /// - Returns: the outcome, with attempts (every WATCH sent), conflicts (null EXECs) and redirects.
    /// - Throws: `RedisError` `.misuse` for keys in more than one slot (naming each key and its slot), and, with
    ///   nothing sent, when the owner's connection is inside a MULTI of the caller's; `.tooManyRedirects`;
    ///   `.serverError` for an error reply that is not a redirect (an EXECABORT names the refused command);
    ///   `.outcomeUnknown` when the connection failed after EXEC was sent; `.timeout`, `.connectionLost`,
    ///   `.protocolError` before that (nothing committed); and whatever `body` throws.
    public func run<Value>(
        _ transaction: OptimisticTransaction, _ body: (TransactionAttempt) throws -> TransactionDecision<Value>
    ) throws -> TransactionResult<Value> {
        let keys = Array(transaction.watch.arguments.dropFirst()) + (transaction.read?.clusterKeys ?? [])
        var placement = SlotOwner(client: self, slot: try HashSlot.common(of: keys, in: "this transaction"))
        return try transaction.run(on: &placement, body)
    }
}

/// The master of a transaction's slot, as the client's map and the redirects so far say.
struct SlotOwner: TransactionPlacement {
    let client: RedisClusterClient
    let slot: HashSlot?
    private var route: RedisClusterClient.Route
    /// The node of the current attempt.
    private var address: ClusterAddress?

    init(client: RedisClusterClient, slot: HashSlot?) {
        self.client = client
        self.slot = slot
        self.route = RedisClusterClient.Route(slot: slot, what: "the transaction")
    }

    var redirects: Int { route.redirects }

    mutating func nextAttempt() throws(RedisError) -> (connection: RedisConnection, preamble: [RedisCommand]) {
        let (address, connection, asking) = try client.next(&route)
        self.address = address
        return (connection, asking ? [RedisClusterClient.asking] : [])
    }

    func turnsAway(_ error: RedisErrorReply) -> Bool { RedisClusterClient.disposition(of: error) != nil }

    mutating func follow(_ error: RedisErrorReply) throws(RedisError) {
        guard let disposition = RedisClusterClient.disposition(of: error), let address else { return }
        try client.follow(disposition, from: address, route: &route)
    }

    func check(_ commands: [RedisCommand]) throws(RedisError) {
        let written = try HashSlot.common(of: commands.flatMap(\.clusterKeys), in: "the transaction's commands")
        if let written, let slot, written != slot {
            throw RedisError(
                .misuse,
                "the transaction watches keys in hash slot \(slot) but its commands write keys in slot \(written); Redis Cluster runs a transaction within one slot only, so give the keys one hash tag; nothing was committed"
            )
        }
    }

    func failed(_ error: RedisError) {
        if let address { client.forget(address, after: error) }
    }

    /// A redirect or a failover may send the next attempt to another node's connection.
    var watchesAhead: Bool { false }
}
