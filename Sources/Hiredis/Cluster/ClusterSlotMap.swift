/// Which master serves which hash slots, and its replicas: the client's picture of the cluster, read from
/// `CLUSTER SLOTS` (the form Redis 7.0 answers, and older ones too).
public struct ClusterSlotMap: Sendable, Hashable, CustomStringConvertible {
    /// A contiguous range of slots and the nodes that serve it.
    public struct SlotRange: Sendable, Hashable {
        public var slots: ClosedRange<Int>
        public var master: ClusterNode
        public var replicas: [ClusterNode]

        public init(slots: ClosedRange<Int>, master: ClusterNode, replicas: [ClusterNode] = []) {
            self.slots = slots
            self.master = master
            self.replicas = replicas
        }
    }

    /// The ranges, sorted by their first slot, never overlapping. Slots in no range are not served.
    public private(set) var ranges: [SlotRange]

    /// - Parameter ranges: slot ranges; they are sorted, and must not overlap.
    public init(ranges: [SlotRange]) {
        self.ranges = ranges.sorted { $0.slots.lowerBound < $1.slots.lowerBound }
    }

    /// Reads a `CLUSTER SLOTS` reply.
    ///
    /// - Parameters:
    ///   - reply: the reply: one array per range, `[start, end, [host, port, id, ...], replicas...]`.
    ///   - sender: the node that answered; a node listed with an empty or unknown (`?`) host is on its host.
    /// - Throws: `RedisError` `.protocolError` when the reply does not have that shape, naming what it saw.
    public init(clusterSlots reply: RedisReply, from sender: ClusterAddress) throws(RedisError) {
        func bad(_ what: String) -> RedisError {
            RedisError(.protocolError, "\(sender) answered CLUSTER SLOTS with something unexpected: \(what)")
        }
        guard let entries = reply.array else { throw bad("\(reply) is not an array") }
        var ranges: [SlotRange] = []
        for entry in entries {
            guard let fields = entry.array, fields.count >= 3, let start = fields[0].int, let end = fields[1].int,
                0 <= start, start <= end, end < HashSlot.count
            else { throw bad("\(entry) is not [start, end, master, replicas...]") }
            var nodes: [ClusterNode] = []
            for field in fields.dropFirst(2) {
                guard let node = field.array, node.count >= 2, let port = node[1].int, (1...65535).contains(port)
                else { throw bad("\(field) is not [host, port, id, ...]") }
                let host = node[0].string.flatMap { $0.isEmpty || $0 == "?" ? nil : $0 } ?? sender.host
                let id = node.count >= 3 ? node[2].string : nil
                nodes.append(ClusterNode(address: ClusterAddress(host: host, port: Int(port)), id: id))
            }
            ranges.append(
                SlotRange(slots: Int(start)...Int(end), master: nodes[0], replicas: Array(nodes.dropFirst())))
        }
        self.init(ranges: ranges)
    }

    /// The master that serves `slot`, or `nil` when no node does.
    ///
    /// - Parameter slot: the slot.
    public func master(for slot: HashSlot) -> ClusterNode? {
        range(containing: slot.rawValue).map { ranges[$0].master }
    }

    /// The range that holds `slot`, or `nil` when no node serves it.
    ///
    /// - Parameter slot: the slot.
    public func range(for slot: HashSlot) -> SlotRange? {
        range(containing: slot.rawValue).map { ranges[$0] }
    }

    /// Every master that serves at least one slot, each once, in slot order.
    public var masters: [ClusterNode] {
        var seen: Set<ClusterAddress> = []
        return ranges.map(\.master).filter { seen.insert($0.address).inserted }
    }

    /// True when every one of the 16384 slots is served.
    public var coversAllSlots: Bool {
        ranges.reduce(0) { $0 + $1.slots.count } == HashSlot.count
    }

    /// Records that `slot` is served by `master` now (after a `MOVED`), splitting the range it was in. Its replicas
    /// are unknown until the next `CLUSTER SLOTS`.
    ///
    /// - Parameters:
    ///   - slot: the slot that moved.
    ///   - master: its new owner.
    public mutating func assign(_ slot: HashSlot, to master: ClusterNode) {
        let number = slot.rawValue
        var pieces: [SlotRange] = []
        if let index = range(containing: number) {
            let old = ranges.remove(at: index)
            if old.master.address == master.address {
                ranges.insert(old, at: index)
                return
            }
            if old.slots.lowerBound < number {
                pieces.append(
                    SlotRange(slots: old.slots.lowerBound...number - 1, master: old.master, replicas: old.replicas))
            }
            if number < old.slots.upperBound {
                pieces.append(
                    SlotRange(slots: number + 1...old.slots.upperBound, master: old.master, replicas: old.replicas))
            }
        }
        let known = ranges.first { $0.master.address == master.address }?.master ?? master
        pieces.append(SlotRange(slots: number...number, master: known))
        self = ClusterSlotMap(ranges: ranges + pieces)
    }

    /// Binary search over the sorted ranges.
    private func range(containing slot: Int) -> Int? {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].slots.upperBound < slot {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low < ranges.count && ranges[low].slots.contains(slot) ? low : nil
    }

    /// One line per range: `0-5460 127.0.0.1:7000 (replicas 127.0.0.1:7003)`.
    public var description: String {
        ranges.map { range in
            let slots =
                range.slots.count == 1
                ? "\(range.slots.lowerBound)" : "\(range.slots.lowerBound)-\(range.slots.upperBound)"
            let replicas =
                range.replicas.isEmpty
                ? "" : " (replicas \(range.replicas.map(\.address.description).joined(separator: ", ")))"
            return "\(slots) \(range.master.address)\(replicas)"
        }.joined(separator: "\n")
    }
}
