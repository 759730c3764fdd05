/// A blocking client of a Redis Cluster over ``RedisConnection``s: it reads the slot map from a seed node, opens one
/// connection per master on first use (all with the same options and credentials), routes each command to the master
/// of its key's hash slot, and follows the cluster's redirects.
///
/// - `MOVED`: the slot has a new owner. The client records it at once, refreshes the whole map from `CLUSTER SLOTS`
///   (at most once per ``Configuration/minimumRefreshInterval``), and sends the command there.
/// - `ASK`: the slot is migrating. The client sends `ASKING` and the command to the named node, once, without
///   changing the map.
/// - `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN`: the cluster is busy. The client retries with full-jitter
///   backoff under ``Configuration/retry`` (within its deadline), then throws the last error reply.
/// - A node that refuses connections (it died; a failover is under way): the client refreshes the map and retries
///   within the same deadline. A connection that breaks while a command is in flight is thrown, never retried: the
///   command may have run.
///
/// A command is redirected at most ``Configuration/maxRedirects`` times, then `.tooManyRedirects` is thrown.
///
/// Like a connection, the client is not `Sendable`: one task owns it, so there is never more than one slot-map
/// refresh at a time.
public final class RedisClusterClient {
    /// How many redirects, how long to retry, how often to refresh the slot map.
    public struct Configuration: Sendable, Hashable {
        /// Redirects (`MOVED`, `ASK`) allowed per command or transaction before `.tooManyRedirects`.
        public var maxRedirects: Int
        /// How a command retries `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN` and refused connections: its
        /// attempts, its deadline (from the first attempt) and its backoff, slept before each retry.
        public var retry: RetryPolicy
        /// The least time between two `CLUSTER SLOTS` refreshes after `MOVED` (a refresh is an extra round trip).
        public var minimumRefreshInterval: Duration

        public init(
            maxRedirects: Int = 5, retry: RetryPolicy = .clusterBusy(),
            minimumRefreshInterval: Duration = .milliseconds(100)
        ) {
            self.maxRedirects = maxRedirects
            self.retry = retry
            self.minimumRefreshInterval = minimumRefreshInterval
        }
    }

    /// What the client has met so far, for reports and tests.
    public struct Statistics: Sendable, Hashable {
        /// `MOVED` redirects followed.
        public var moved = 0
        /// `ASK` redirects followed.
        public var asked = 0
        /// Retries after `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN` or a refused connection.
        public var retries = 0
        /// `CLUSTER SLOTS` refreshes, the first discovery included.
        public var refreshes = 0
        /// Connections opened to nodes.
        public var connections = 0

        public init() {}
    }

    public let endpoint: RedisClusterEndpoint
    /// The options of every node connection.
    public let options: RedisConnection.Options
    public let configuration: Configuration
    /// The slot map as the client knows it now.
    public private(set) var slotMap: ClusterSlotMap
    public private(set) var statistics = Statistics()

    private var connections: [ClusterAddress: RedisConnection] = [:]
    private var lastRefresh: ContinuousClock.Instant?
    private var jitter = SplitMix64(seed: UInt64.random(in: .min ... .max))
    /// The window of an adaptive or tracking ``Configuration/retry`` backoff, across the client's retries.
    private var retryWindow = ContentionWindow()

    /// Reads the slot map from the first seed that answers `CLUSTER SLOTS`.
    ///
    /// - Parameters:
    ///   - endpoint: the seeds and the credentials of every node.
    ///   - options: timeouts, keepalive and client name of every node connection. `.onNextCommand` reconnection is
    ///     honoured per connection.
    ///   - configuration: redirect and retry limits.
    /// - Throws: `RedisError` `.cannotConnect` when no seed could be reached (naming each), `.serverError` when a seed
    ///   is not in cluster mode (`ERR This instance has cluster support disabled`), `.protocolError` for a reply that
    ///   is not a slot map.
    public init(
        endpoint: RedisClusterEndpoint, options: RedisConnection.Options = .init(),
        configuration: Configuration = Configuration()
    ) throws(RedisError) {
        guard !endpoint.seeds.isEmpty else {
            throw RedisError(.invalidEndpoint, "a Redis Cluster endpoint needs at least one seed node")
        }
        self.endpoint = endpoint
        self.options = options
        self.configuration = configuration
        self.slotMap = ClusterSlotMap(ranges: [])
        try refreshSlotMap()
    }

    /// Connects to a `redis+cluster://` URL; see ``RedisClusterEndpoint/init(url:)``.
    ///
    /// - Throws: `RedisError` `.invalidEndpoint` for a bad URL, or as ``init(endpoint:options:configuration:)``.
    public convenience init(
        url: String, options: RedisConnection.Options = .init(), configuration: Configuration = Configuration()
    ) throws(RedisError) {
        try self.init(endpoint: RedisClusterEndpoint(url: url), options: options, configuration: configuration)
    }

    /// Closes every node connection; the next command opens what it needs again.
    public func close() {
        for connection in connections.values { connection.close() }
        connections = [:]
    }

    // MARK: Routing

    /// The slot a command is routed by: that of its key(s), `nil` for a command without keys.
    ///
    /// - Parameter command: the command.
    /// - Throws: `RedisError` `.misuse` when its keys hash to different slots, naming the keys and slots.
    public func slot(of command: RedisCommand) throws(RedisError) -> HashSlot? {
        try HashSlot.common(of: command.clusterKeys, in: command.name)
    }

    /// The connection to the master of `slot`, opened if needed (for commands the client does not route itself).
    ///
    /// - Parameter slot: the slot.
    /// - Throws: `RedisError` `.cannotConnect`, or `.serverError` (`CLUSTERDOWN`) when no master serves the slot.
    public func connection(for slot: HashSlot) throws(RedisError) -> RedisConnection {
        try connection(to: owner(of: slot))
    }

    /// The connection to one node, opened if needed with the shared options and credentials.
    ///
    /// - Parameter address: the node.
    /// - Throws: `RedisError` `.cannotConnect` as ``RedisConnection/init(endpoint:options:)``.
    public func connection(to address: ClusterAddress) throws(RedisError) -> RedisConnection {
        if let connection = connections[address] {
            if connection.isConnected || options.reconnect == .onNextCommand { return connection }
            connections[address] = nil
        }
        let connection = try RedisConnection(endpoint: endpoint.endpoint(address), options: options)
        statistics.connections += 1
        connections[address] = connection
        return connection
    }

    /// Reads the slot map again: first from `preferred` (the node that just claimed a slot), then from the masters
    /// known, then from the seeds. Connections to nodes that no longer serve slots are closed.
    ///
    /// - Parameter preferred: a node to ask first.
    /// - Throws: `RedisError` when no node answered with a slot map (the last node's error, with every node named).
    public func refreshSlotMap(preferring preferred: ClusterAddress? = nil) throws(RedisError) {
        var candidates: [ClusterAddress] = preferred.map { [$0] } ?? []
        candidates += slotMap.masters.map(\.address) + endpoint.seeds
        var seen: Set<ClusterAddress> = []
        var failures: [String] = []
        var lastError: RedisError?
        for address in candidates where seen.insert(address).inserted {
            do {
                let reply = try connection(to: address).send(Self.clusterSlots)
                let map = try ClusterSlotMap(clusterSlots: reply, from: address)
                guard !map.ranges.isEmpty else {
                    failures.append("\(address): no slots are assigned")
                    continue
                }
                slotMap = map
                lastRefresh = ContinuousClock.now
                statistics.refreshes += 1
                let serving = Set(map.masters.map(\.address))
                for stale in connections.keys where !serving.contains(stale) {
                    connections.removeValue(forKey: stale)?.close()
                }
                return
            } catch {
                if error.closesConnection || error.code == .cannotConnect { connections[address] = nil }
                failures.append("\(address): \(error.message)")
                lastError = error
            }
        }
        let code = lastError?.code == .serverError || lastError?.code == .protocolError ? lastError?.code : nil
        throw RedisError(
            code ?? .cannotConnect,
            "cannot read the Redis Cluster slot map (CLUSTER SLOTS) from any node: \(failures.joined(separator: "; "))",
            reply: lastError?.reply, errno: lastError?.errno)
    }

    // MARK: Commands

    /// Sends one command to the master of its slot, following redirects.
    ///
    /// - Parameters:
    ///   - command: the command.
    ///   - slot: the slot to route by; `nil` routes by the command's keys (see ``slot(of:)``), and a command without
    ///     keys goes to any master.
    /// - Returns: the reply; an error reply is thrown, never returned.
    /// - Throws: `RedisError` `.serverError` for an error reply that is not a redirect (after the retries above for
    ///   `TRYAGAIN` and the like); `.misuse` for keys in different slots (nothing sent); `.tooManyRedirects`;
    ///   `.timeout`, `.connectionLost`, `.protocolError` when the connection broke (the command may have run: it is
    ///   not retried); `.cannotConnect` when the owner stayed unreachable past the retry deadline.
    @discardableResult
    public func send(_ command: RedisCommand, slot: HashSlot? = nil) throws(RedisError) -> RedisReply {
        let reply = try request(command, slot: slot)
        if case .error(let error) = reply { throw RedisError.server(error, command: command.name) }
        return reply
    }

    /// `send(RedisCommand(name, arguments...))`, routed by the command's keys.
    @discardableResult
    public func send(_ name: String, _ arguments: RedisArgument...) throws(RedisError) -> RedisReply {
        try send(RedisCommand([RedisArgument(name)] + arguments))
    }

    /// Sends one command and returns its reply as it came, an error reply other than a redirect or a retried one
    /// included.
    ///
    /// - Throws: as ``send(_:slot:)``, but never `.serverError`.
    public func request(_ command: RedisCommand, slot: HashSlot? = nil) throws(RedisError) -> RedisReply {
        let target: HashSlot?
        if let slot { target = slot } else { target = try self.slot(of: command) }
        return try routed(target, what: command.name) { connection, asking throws(RedisError) in
            let reply =
                asking
                ? try Self.afterAsking(connection.pipeline([Self.asking, command])) : try connection.request(command)
            if let error = reply.errorReply, let redirect = Self.disposition(of: error) { return .again(redirect) }
            return .done(reply)
        }
    }

    /// Sends commands of one slot to its master in one round trip and returns one reply per command, in order.
    ///
    /// Commands that were redirected (or answered `TRYAGAIN`) did not run: they are sent again, in their order, where
    /// the redirect points, so the replies that come back are all final. Commands the first node ran and commands it
    /// redirected may then have run on different nodes, in two batches, as they would with any cluster client.
    ///
    /// - Parameters:
    ///   - commands: the commands.
    ///   - slot: the slot; `nil` takes it from the commands' keys, which must all hash to one slot.
    /// - Returns: one reply per command; error replies are elements, not thrown.
    /// - Throws: `RedisError` `.misuse` for keys in more than one slot (nothing sent), or as ``request(_:slot:)``.
    public func pipeline(_ commands: [RedisCommand], slot: HashSlot? = nil) throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        let target: HashSlot?
        if let slot {
            target = slot
        } else {
            target = try HashSlot.common(of: commands.flatMap(\.clusterKeys), in: "this pipeline")
        }
        var replies = [RedisReply?](repeating: nil, count: commands.count)
        var pending = Array(commands.indices)
        return try routed(target, what: "a pipeline") { connection, asking throws(RedisError) in
            let batch = pending.flatMap { asking ? [Self.asking, commands[$0]] : [commands[$0]] }
            var answers = try connection.pipeline(batch)
            if asking {
                answers = try stride(from: 0, to: answers.count, by: 2).map { index throws(RedisError) in
                    try Self.afterAsking([answers[index], answers[index + 1]])
                }
            }
            var first: Disposition?
            var redirected: [Int] = []
            for (index, answer) in zip(pending, answers) {
                if let error = answer.errorReply, let disposition = Self.disposition(of: error) {
                    first = first ?? disposition
                    redirected.append(index)
                } else {
                    replies[index] = answer
                }
            }
            pending = redirected
            if let first { return .again(first) }
            return .done(replies.map { $0 ?? .null })
        }
    }

    // MARK: The redirect loop

    /// What a cluster error reply asks the client to do.
    enum Disposition {
        case redirect(ClusterRedirect)
        /// TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN: wait and send again.
        case retry(RedisErrorReply)
    }

    enum Step<Value> {
        case done(Value)
        case again(Disposition)
    }

    static func disposition(of error: RedisErrorReply) -> Disposition? {
        if let redirect = ClusterRedirect(error) { return .redirect(redirect) }
        switch error.code {
        case "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN": return .retry(error)
        default: return nil
        }
    }

    /// Where the next attempt of a command or transaction goes, and how many times it was turned away.
    struct Route {
        let slot: HashSlot?
        let what: String
        let start = ContinuousClock.now
        /// Set by a redirect: the next attempt goes there (after `ASKING`, for `ASK`) rather than to the slot's owner
        /// in the map, which a refresh from a node that has not heard of the move yet may have set back.
        var redirected: (address: ClusterAddress, asking: Bool)?
        var redirects = 0
        var retries = 0
    }

    /// Runs `attempt` on the owner of `slot` until it is done, following redirects and retrying as the type's
    /// documentation says.
    private func routed<Value>(
        _ slot: HashSlot?, what: String,
        _ attempt: (RedisConnection, _ asking: Bool) throws(RedisError) -> Step<Value>
    ) throws(RedisError) -> Value {
        var route = Route(slot: slot, what: what)
        while true {
            let (address, connection, asking) = try next(&route)
            let step: Step<Value>
            do {
                step = try attempt(connection, asking)
            } catch {
                forget(address, after: error)
                throw error
            }
            switch step {
            case .done(let value): return value
            case .again(let disposition): try follow(disposition, from: address, route: &route)
            }
        }
    }

    /// The node and connection for the next attempt; a refused connection is retried within the deadline.
    func next(_ route: inout Route) throws(RedisError) -> (ClusterAddress, RedisConnection, asking: Bool) {
        while true {
            let address: ClusterAddress
            let asking = route.redirected?.asking ?? false
            if let redirected = route.redirected {
                address = redirected.address
            } else {
                address = try owner(of: route.slot)
            }
            route.redirected = nil
            do {
                return (address, try connection(to: address), asking)
            } catch  where error.code == .cannotConnect && error.reply == nil {
                // The node is gone (killed, failing over): ask the others who serves the slot now.
                try pause(after: error, route: &route)
                try? refreshSlotMap()
            }
        }
    }

    /// Follows a redirect (counted, bounded) or waits before a retry.
    func follow(_ disposition: Disposition, from sender: ClusterAddress, route: inout Route) throws(RedisError) {
        switch disposition {
        case .redirect(let raw):
            let redirect = raw.resolved(against: sender)
            route.redirects += 1
            guard route.redirects <= configuration.maxRedirects else {
                throw RedisError(
                    .tooManyRedirects,
                    "\(route.what) was redirected past the limit of \(configuration.maxRedirects) (last: \(redirect), from \(sender)); the cluster's slot map keeps changing or its nodes disagree about slot \(redirect.slot) — check CLUSTER SLOTS on every node"
                )
            }
            switch redirect.kind {
            case .moved:
                statistics.moved += 1
                route.redirected = (redirect.address, false)
                if lastRefresh.map({ ContinuousClock.now - $0 >= configuration.minimumRefreshInterval }) ?? true {
                    try? refreshSlotMap(preferring: redirect.address)
                }
                // A node that has not heard of the move yet may have answered the refresh: the MOVED is newer.
                if slotMap.master(for: redirect.slot)?.address != redirect.address {
                    slotMap.assign(redirect.slot, to: ClusterNode(address: redirect.address))
                }
            case .ask:
                statistics.asked += 1
                route.redirected = (redirect.address, true)
            }
        case .retry(let reply):
            try pause(after: RedisError.server(reply, command: route.what), route: &route)
            if reply.code == "CLUSTERDOWN" || reply.code == "MASTERDOWN" { try? refreshSlotMap() }
        }
    }

    /// Sleeps the retry policy's backoff before the next retry, or throws `error` when the policy's attempts are
    /// used up or its deadline would pass.
    func pause(after error: RedisError, route: inout Route) throws(RedisError) {
        route.retries += 1
        let retry = configuration.retry
        let delay = retry.delay(afterConflictStreak: route.retries, window: &retryWindow, using: &jitter)
        if let maxAttempts = retry.maxAttempts, route.retries >= maxAttempts {
            var error = error
            error.message += " (still so when the retry policy's maxAttempts, \(maxAttempts), ran out)"
            throw error
        }
        if let deadline = retry.deadline, ContinuousClock.now + delay >= route.start + deadline {
            var error = error
            error.message += " (still so after retrying for \(deadline))"
            throw error
        }
        statistics.retries += 1
        RedisConnection.sleep(delay)
    }

    /// Drops a connection that an error closed, so the next command opens a new one (and may find a new owner).
    func forget(_ address: ClusterAddress, after error: RedisError) {
        guard error.closesConnection else { return }
        connections[address] = nil
        lastRefresh = nil
    }

    /// The master of `slot` (any master for `nil`).
    private func owner(of slot: HashSlot?) throws(RedisError) -> ClusterAddress {
        if let slot {
            if let master = slotMap.master(for: slot) { return master.address }
            try refreshSlotMap()
            if let master = slotMap.master(for: slot) { return master.address }
            throw RedisError(
                .serverError, "no master serves hash slot \(slot) in the cluster's slot map; is the cluster down?",
                reply: RedisErrorReply(code: "CLUSTERDOWN", message: "Hash slot not served"))
        }
        if let master = slotMap.masters.first { return master.address }
        try refreshSlotMap()
        guard let master = slotMap.masters.first else {
            throw RedisError(.serverError, "the cluster has no master that serves slots")
        }
        return master.address
    }

    /// The reply of the command that followed `ASKING`; an ASKING refusal is the reply.
    private static func afterAsking(_ replies: [RedisReply]) throws(RedisError) -> RedisReply {
        guard replies.count == 2 else {
            throw RedisError(.protocolError, "ASKING and a command expect 2 replies, not \(replies.count)")
        }
        return replies[0].isError ? replies[0] : replies[1]
    }

    static let asking = RedisCommand("ASKING")
    static let clusterSlots = RedisCommand("CLUSTER", "SLOTS")
}
