import Foundation
import Hiredis

/// Where a run's groups live: on a single node, every group on the one node; on a Redis Cluster, each group on the
/// master of its hash tag's slot. The driver prepares, checks and reads each owner's groups over that owner's
/// connection, so a single node is a cluster of one slot owner and there is one driver path.
///
/// Placement: with G > 1 groups on a cluster of M > 1 masters, group g should live on master g mod M (masters in slot
/// order). The driver picks for each group the first salt 0, 1, 2… whose tag `{KEY:g<g>.<salt>}` hashes to a slot
/// that master owns (with evenly dealt slots a salt is found within a few tries), so the groups land as evenly as the
/// masters allow. A single node, a one-master cluster and a one-group run keep the unsalted tags.
struct ClusterTopology {
    /// One master and the groups whose slots it serves (on a single node: the node and every group).
    struct Owner {
        /// `nil` on a single node.
        var address: ClusterAddress?
        var groups: [Int]
    }

    /// The driver's router: the seed connection on a single node, a cluster client otherwise.
    let router: SaleRouter
    /// Per group, the salt of its hash tag, or `nil` when the tags are unsalted.
    let salts: [String]?
    /// The masters that own the run's groups, in slot order, each with its groups.
    let owners: [Owner]
    /// Every master of the cluster, in slot order (empty on a single node).
    let masters: [ClusterAddress]

    /// - Parameters:
    ///   - target: where Redis is.
    ///   - layout: the run's keys without salts.
    ///   - connection: the driver's connection to the single node (or to a seed of the cluster).
    /// - Throws: `SimulationError(.redisUnavailable)` when the cluster's slot map cannot be read.
    init(target: ResolvedTarget, layout: CatalogLayout, connection: RedisConnection, options: RedisConnection.Options)
        throws(SimulationError)
    {
        guard let seeds = target.cluster else {
            router = SaleRouter(single: connection, layout: layout)
            salts = nil
            owners = [Owner(address: nil, groups: Array(0..<layout.groups))]
            masters = []
            return
        }
        let client: RedisClusterClient
        do {
            client = try RedisClusterClient(endpoint: seeds, options: options)
        } catch {
            throw SimulationError(
                error.code == .cannotConnect && !error.message.contains("no slots")
                    ? .redisUnavailable : .badServerState,
                "the server runs in Redis Cluster mode, but \(error.message); a cluster must serve all 16384 slots (cluster_state:ok), or point --redis at a standalone server"
            )
        }
        guard client.slotMap.coversAllSlots else {
            throw SimulationError(
                .badServerState,
                "the Redis Cluster at \(seeds) does not serve every slot (CLUSTER SLOTS: \(client.slotMap)); wait for cluster_state:ok or fix the cluster"
            )
        }
        let masters = client.slotMap.masters.map(\.address)
        self.masters = masters
        var chosen: [String]?
        if layout.groups > 1, masters.count > 1 {
            chosen = (0..<layout.groups).map { group in
                Self.salt(for: group, key: layout.key, owner: masters[group % masters.count], map: client.slotMap)
            }
        }
        salts = chosen
        let salted = CatalogLayout(key: layout.key, skus: layout.skus, groups: layout.groups, salts: chosen ?? [])
        router = SaleRouter(cluster: client, layout: salted)
        var byMaster: [ClusterAddress: [Int]] = [:]
        for group in 0..<layout.groups {
            guard let master = router.master(of: group) else { continue }
            byMaster[master, default: []].append(group)
        }
        owners = masters.compactMap { master in byMaster[master].map { Owner(address: master, groups: $0) } }
    }

    /// The first salt whose tag for `group` hashes to a slot `owner` serves ("0" when none in 10 000 does).
    static func salt(for group: Int, key: String, owner: ClusterAddress, map: ClusterSlotMap) -> String {
        for salt in 0..<10_000 {
            let tag = "{\(key):g\(group).\(salt)}"
            if map.master(for: HashSlot(key: tag))?.address == owner { return String(salt) }
        }
        return "0"
    }

    /// True on a Redis Cluster.
    var isCluster: Bool { router.isCluster }

    /// The connection to an owner's node.
    ///
    /// - Throws: `SimulationError(.redisUnavailable)` when it cannot be reached.
    func connection(_ owner: Owner) throws(SimulationError) -> RedisConnection {
        do throws(RedisError) {
            return try router.connection(for: owner.groups.first ?? 0)
        } catch {
            throw SimulationError(.redisUnavailable, error.message)
        }
    }

    /// Redis CPU seconds (`used_cpu_sys` + `used_cpu_user` of `INFO cpu`) of each owner, `nil` where INFO is refused.
    func cpuSeconds() -> [Double?] {
        owners.map { owner in
            guard let connection = try? connection(owner), let info = try? connection.send("INFO", "cpu").string
            else { return nil }
            var total = 0.0
            for line in info.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: ":")
                if parts.count == 2, parts[0] == "used_cpu_sys" || parts[0] == "used_cpu_user",
                    let seconds = Double(parts[1].trimmingCharacters(in: .whitespaces))
                {
                    total += seconds
                }
            }
            return total
        }
    }
}
