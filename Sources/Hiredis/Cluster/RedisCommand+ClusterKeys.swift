extension RedisCommand {
    /// The keys a Redis Cluster routes this command by, as far as the client knows the command: no keys for
    /// server commands (`PING`, `INFO`, `CLUSTER` ...), every argument for `DEL`/`MGET`/`WATCH`-like commands, every
    /// other one for `MSET`, the `numkeys` keys of `EVAL`/`EVALSHA`/`FCALL`, and the first argument otherwise. A
    /// caller whose command does not fit names the slot itself.
    var clusterKeys: [[UInt8]] {
        let arguments = arguments
        guard arguments.count > 1 else { return [] }
        let rest = arguments.dropFirst()
        switch name {
        case "PING", "ECHO", "INFO", "CLUSTER", "ASKING", "READONLY", "READWRITE", "MULTI", "EXEC", "DISCARD",
            "UNWATCH", "CLIENT", "CONFIG", "DBSIZE", "FLUSHALL", "FLUSHDB", "SCRIPT", "FUNCTION", "TIME", "COMMAND",
            "ACL", "AUTH", "HELLO", "SELECT", "SAVE", "BGSAVE", "LASTSAVE", "KEYS", "SCAN", "RANDOMKEY", "WAIT",
            "DEBUG", "PUBLISH", "SUBSCRIBE", "PSUBSCRIBE", "ROLE", "MEMORY", "LATENCY", "SLOWLOG", "SHUTDOWN":
            return []
        case "DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", "SINTER", "SUNION", "SDIFF", "SINTERSTORE",
            "SUNIONSTORE", "SDIFFSTORE", "PFCOUNT", "PFMERGE":
            return Array(rest)
        case "MSET", "MSETNX":
            return rest.enumerated().filter { $0.offset.isMultiple(of: 2) }.map(\.element)
        case "RENAME", "RENAMENX", "SMOVE", "LMOVE", "BLMOVE", "RPOPLPUSH", "BRPOPLPUSH", "COPY":
            return Array(rest.prefix(2))
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard arguments.count > 2, let count = RedisReply.parseInteger(arguments[2]), count > 0 else { return [] }
            return Array(arguments.dropFirst(3).prefix(Int(count)))
        default:
            return [arguments[1]]
        }
    }
}

extension HashSlot {
    /// The one slot of `keys`, `nil` when there are none.
    ///
    /// - Throws: `RedisError` `.misuse` naming every key and its slot when they hash to more than one slot.
    static func common(of keys: [[UInt8]], in what: String) throws(RedisError) -> HashSlot? {
        let slots = keys.map { HashSlot(key: $0) }
        guard let first = slots.first else { return nil }
        guard slots.allSatisfy({ $0 == first }) else {
            let named = zip(keys, slots).map { "'\(String(decoding: $0, as: UTF8.self))' (slot \($1))" }
            throw RedisError(
                .misuse,
                "\(what) touches keys in \(Set(slots).count) hash slots: \(named.joined(separator: ", ")); Redis Cluster runs it within one slot only, so give the keys one hash tag, as {tag}a and {tag}b; nothing was sent"
            )
        }
        return first
    }
}
