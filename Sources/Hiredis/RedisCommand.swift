/// One argument of a Redis command: text, raw bytes or an integer. Binary-safe: sent with its byte length.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    enum Storage: Sendable, Hashable {
        case string(String)
        case bytes([UInt8])
        case integer(Int64)
    }
    let storage: Storage

    public init(_ text: String) { storage = .string(text) }
    public init(_ value: Int64) { storage = .integer(value) }
    public init(_ value: Int) { storage = .integer(Int64(value)) }
    public init(stringLiteral value: String) { storage = .string(value) }
    public init(integerLiteral value: Int64) { storage = .integer(value) }

    /// Raw bytes, sent as they are (NUL bytes included).
    public static func bytes(_ bytes: [UInt8]) -> RedisArgument { RedisArgument(storage: .bytes(bytes)) }

    private init(storage: Storage) { self.storage = storage }

    func append(to buffer: inout [UInt8]) {
        switch storage {
        case .string(let text): buffer.append(contentsOf: text.utf8)
        case .bytes(let bytes): buffer.append(contentsOf: bytes)
        case .integer(let value): buffer.append(contentsOf: String(value).utf8)
        }
    }
}

/// A command encoded once as an argument vector (all arguments in one byte buffer plus their end offsets), ready to
/// be queued on a connection any number of times. Build hot-path commands once and reuse them.
public struct RedisCommand: Sendable, Hashable, CustomStringConvertible {
    /// The arguments' bytes, back to back.
    let bytes: [UInt8]
    /// The end offset in `bytes` of each argument.
    let ends: [Int]

    /// - Parameter arguments: the command name followed by its arguments; must not be empty.
    public init(_ arguments: [RedisArgument]) {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        ends.reserveCapacity(arguments.count)
        for argument in arguments {
            argument.append(to: &bytes)
            ends.append(bytes.count)
        }
        self.bytes = bytes
        self.ends = ends
    }

    /// `RedisCommand("SET", "key", "value")`.
    public init(_ name: String, _ arguments: RedisArgument...) {
        self.init([RedisArgument(name)] + arguments)
    }

    /// The number of arguments, the command name included.
    public var count: Int { ends.count }

    /// The command name as sent (for messages), without its arguments, which may be secrets.
    public var name: String {
        guard let end = ends.first else { return "" }
        return String(decoding: bytes[0..<end], as: UTF8.self).uppercased()
    }

    /// The arguments, as bytes.
    public var arguments: [[UInt8]] {
        var start = 0
        return ends.map { end in
            defer { start = end }
            return Array(bytes[start..<end])
        }
    }

    public var description: String { name }

    /// Calls `body` with the C argument vector: pointers into `bytes` and their lengths.
    func withArgv<R>(_ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        let count = ends.count
        return bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)  // non-empty: checked before any call
            return withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { argv in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { lengths in
                    var start = 0
                    for index in 0..<count {
                        let end = ends[index]
                        argv[index] = (base + start).assumingMemoryBound(to: CChar.self)
                        lengths[index] = end - start
                        start = end
                    }
                    return body(argv.baseAddress!, UnsafePointer(lengths.baseAddress!))
                }
            }
        }
    }

    /// True when the command can be sent: it has a name and the buffer is not empty.
    var isSendable: Bool { !ends.isEmpty && ends[0] > 0 }
}
