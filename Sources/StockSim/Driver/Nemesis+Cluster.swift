import EmbeddedRedis
import Hiredis

extension Nemesis {
    /// A fault of the run's cluster (embedded, or given by URL and attached), on the master of a group drawn from the
    /// seed:
    /// - `migrate-slot`: the group's slot moves to the next master in the documented order (`SETSLOT IMPORTING` on the
    ///   target, `MIGRATING` on the source, `MIGRATE` the keys, `SETSLOT NODE` everywhere), so workers meet ASK, then
    ///   MOVED;
    /// - `failover`: `CLUSTER FAILOVER` on a replica of the group's master, which takes over its slots;
    /// - `kill-master`: the group's master is killed with SIGKILL (`SHUTDOWN NOSAVE` on a cluster StockSim did not
    ///   start).
    func injectClusterFault(_ kind: String) -> String {
        guard let (server, slots) = cluster, !slots.isEmpty else { return "skipped: not a Redis Cluster" }
        let group = Int.random(in: 0..<slots.count, using: &random)
        let slot = slots[group]
        do {
            let master = try server.master(of: slot)
            switch kind {
            case "migrate-slot":
                let masters = try server.masters()
                guard let index = masters.firstIndex(where: { $0.id == master.id }), masters.count > 1 else {
                    return "skipped: one master, nowhere to move slot \(slot)"
                }
                let target = masters[(index + 1) % masters.count]
                try server.migrate(slot, to: target)
                return "slot \(slot) of group \(group) moved from \(master) to \(target)"
            case "failover":
                guard let replica = try server.replicas(of: master).first else {
                    return "skipped: \(master) has no replica"
                }
                try server.failover(to: replica)
                return "replica \(replica) took over group \(group)'s slot \(slot) from \(master)"
            default:
                let how = server.kill(master)
                return "master \(master) of group \(group) (slot \(slot)) \(how)"
            }
        } catch {
            return "\(kind) failed: \(error)"
        }
    }
}
