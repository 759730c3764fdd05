/// A node of a Redis Cluster as `CLUSTER SLOTS` describes it: its address and its node id.
public struct ClusterNode: Sendable, Hashable, CustomStringConvertible {
    public var address: ClusterAddress
    /// The 40-character node id; `nil` when only the address is known (as after a `MOVED`).
    public var id: String?

    public init(address: ClusterAddress, id: String? = nil) {
        self.address = address
        self.id = id
    }

    public var host: String { address.host }
    public var port: Int { address.port }

    public var description: String { id.map { "\(address) (\($0.prefix(8)))" } ?? address.description }
}
