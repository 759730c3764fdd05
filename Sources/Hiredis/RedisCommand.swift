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

/// A command encoded once in Redis's wire format (RESP: `*N`, then `$len` and the bytes of each argument), ready to
/// be queued on a connection any number of times with a single copy. Build hot-path commands once and reuse them.
public struct RedisCommand: Sendable, Hashable, CustomStringConvertible {
    /// The whole command as the server reads it.
    let encoded: [UInt8]
    /// Where each argument's bytes are in `encoded`, the command name first.
    let spans: [Range<Int>]

    /// - Parameter arguments: the command name followed by its arguments; must not be empty.
    public init(_ arguments: [RedisArgument]) {
        var encoded: [UInt8] = []
        var spans: [Range<Int>] = []
        spans.reserveCapacity(arguments.count)
        /// `*N` (the argument count) or `$N` (an argument's length), and the line end.
        func header(_ marker: Character, _ number: Int) {
            encoded.append(contentsOf: "\(marker)\(number)\r\n".utf8)
        }
        header("*", arguments.count)
        var argument: [UInt8] = []
        for item in arguments {
            argument.removeAll(keepingCapacity: true)
            item.append(to: &argument)
            header("$", argument.count)
            spans.append(encoded.count..<encoded.count + argument.count)
            encoded.append(contentsOf: argument)
            encoded.append(contentsOf: "\r\n".utf8)
        }
        self.encoded = encoded
        self.spans = spans
        transactionBoundary = Self.boundary(encoded, spans)
    }

    /// `RedisCommand("SET", "key", "value")`.
    public init(_ name: String, _ arguments: RedisArgument...) {
        self.init([RedisArgument(name)] + arguments)
    }

    /// The number of arguments, the command name included.
    public var count: Int { spans.count }

    /// The command name as sent (for messages), without its arguments, which may be secrets.
    public var name: String {
        guard let span = spans.first else { return "" }
        return String(decoding: encoded[span], as: UTF8.self).uppercased()
    }

    /// The arguments, as bytes.
    public var arguments: [[UInt8]] { spans.map { Array(encoded[$0]) } }

    public var description: String { name }

    /// True when the command has no name (or an empty one): there is nothing to send.
    var isEmpty: Bool { spans.first.map { $0.isEmpty } ?? true }

    /// `true` for MULTI, `false` for EXEC or DISCARD, `nil` for every other command. Found once when the command is
    /// built, so that sending a prebuilt command (EVALSHA has DISCARD's length) compares no bytes.
    let transactionBoundary: Bool?

    private static func boundary(_ encoded: [UInt8], _ spans: [Range<Int>]) -> Bool? {
        guard let span = spans.first, span.count == 4 || span.count == 5 || span.count == 7 else { return nil }
        let name = encoded[span].lazy.map { $0 & 0xDF }  // ASCII upper case, without an array
        if name.elementsEqual("MULTI".utf8) { return true }
        if name.elementsEqual("EXEC".utf8) || name.elementsEqual("DISCARD".utf8) { return false }
        return nil
    }
}
