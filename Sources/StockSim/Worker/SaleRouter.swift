import Foundation
import Hiredis

/// The connection each group's orders go to. On a single node it is the one connection for every group; on a Redis
/// Cluster it is the connection to the master of the group's hash slot, through a ``RedisClusterClient`` that opens one
/// connection per master on first use. A single node is a cluster of one slot owner: the sale path is the same, and
/// on a single node choosing the connection is one optional check.
final class SaleRouter {
    /// The single node's connection, or `nil` on a cluster.
    private let single: RedisConnection?
    /// The cluster client, or `nil` on a single node.
    let cluster: RedisClusterClient?
    /// Per group: the slot of its hash tag.
    let slots: [HashSlot]

    /// A router over one node.
    init(single connection: RedisConnection, layout: CatalogLayout) {
        single = connection
        cluster = nil
        slots = (0..<layout.groups).map { HashSlot(key: layout.ledgerKey(group: $0)) }
    }

    /// A router over a cluster.
    init(cluster client: RedisClusterClient, layout: CatalogLayout) {
        single = nil
        cluster = client
        slots = (0..<layout.groups).map { HashSlot(key: layout.ledgerKey(group: $0)) }
    }

    /// Connects to the URL: a `redis+cluster://` URL makes a cluster router, anything else a single node's.
    ///
    /// - Throws: `RedisError` when the node or no seed can be reached, or the URL is wrong.
    convenience init(url: String, layout: CatalogLayout, options: RedisConnection.Options) throws(RedisError) {
        if Self.isClusterURL(url) {
            try self.init(cluster: RedisClusterClient(url: url, options: options), layout: layout)
        } else {
            try self.init(single: RedisConnection(endpoint: RedisEndpoint(url: url), options: options), layout: layout)
        }
    }

    /// True for a `redis+cluster://` URL.
    static func isClusterURL(_ url: String) -> Bool { url.lowercased().hasPrefix("redis+cluster://") }

    var isCluster: Bool { cluster != nil }

    /// The ACL user every connection logs in as (`nil` for `default`), for messages.
    var user: String? { single?.endpoint.user ?? cluster?.endpoint.user }

    /// The connection for a group's orders: the single node's, or its master's (opened if needed).
    ///
    /// - Throws: `RedisError` `.cannotConnect` when the master cannot be reached, `.serverError` when no master serves
    ///   the slot.
    @inline(__always)
    func connection(for group: Int) throws(RedisError) -> RedisConnection {
        if let single { return single }
        guard let cluster else { throw RedisError(.misuse, "a sale router has neither a node nor a cluster") }
        return try cluster.connection(for: slots[group])
    }

    /// The master that serves a group now (as this router's slot map says), `nil` on a single node.
    func master(of group: Int) -> ClusterAddress? {
        cluster?.slotMap.master(for: slots[group])?.address
    }

    /// Learns from a redirect or a lost master: reads the slot map again (from the node a `MOVED` names first), and
    /// after `ASK`, `TRYAGAIN` or `CLUSTERDOWN` waits a little, since the slot is on its way to its new owner.
    ///
    /// - Throws: `RedisError` when no node answers with a slot map.
    func follow(_ error: RedisError) throws(RedisError) {
        guard let cluster else { return }
        if let reply = Self.queuedRefusal(error) ?? error.reply, let redirect = ClusterRedirect(reply),
            redirect.kind == .moved
        {
            try cluster.refreshSlotMap(preferring: redirect.address)
            return
        }
        Thread.sleep(forTimeInterval: 0.005)
        if error.code == .cannotConnect || error.reply?.code == "CLUSTERDOWN" {
            cluster.close()
            try cluster.refreshSlotMap()
        }
    }

    /// After a failed read-back: closes the single node's connection (the next read connects again), or follows the
    /// cluster's redirect or lost node.
    func closeAfter(_ error: RedisError) {
        if let single { return single.close() }
        try? follow(error)
    }

    /// An `EXECABORT` whose first queued refusal was a redirect: the reply that named it.
    private static func queuedRefusal(_ error: RedisError) -> RedisErrorReply? {
        guard error.reply?.code == "EXECABORT", let refused = error.message.range(of: "was refused: ") else {
            return nil
        }
        let text = error.message[refused.upperBound...].prefix { $0 != ")" }
        let parts = text.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return RedisErrorReply(code: String(parts[0]), message: String(parts[1]))
    }
}

extension RedisError {
    /// True when a cluster turned the command away before it ran: `MOVED`, `ASK`, `TRYAGAIN`, `CLUSTERDOWN`, or an
    /// `EXECABORT` because a queued command met one of them (nothing of an `EXECABORT`ed transaction ran). The whole
    /// order is then placed again on the slot's owner, and counted as a redirect, never as a conflict.
    var isClusterRedirect: Bool {
        let codes: Set<String> = ["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"]
        guard let code = reply?.code else { return false }
        if codes.contains(code) { return true }
        return code == "EXECABORT" && codes.contains { message.contains("was refused: \($0) ") }
    }
}
