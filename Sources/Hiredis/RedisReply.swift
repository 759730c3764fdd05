/// A reply from Redis, copied out of hiredis into Swift values: one case per RESP2 type hiredis 0.14 knows.
///
/// A null bulk string and a null array both arrive as `.null` (hiredis 0.14 does not tell them apart).
public enum RedisReply: Sendable, Hashable {
    /// A simple string such as `OK` or `QUEUED`.
    case status(String)
    /// An error reply, with Redis's code prefix kept apart from its text.
    case error(RedisErrorReply)
    case integer(Int64)
    /// A bulk string: binary-safe bytes.
    case bulk([UInt8])
    case array([RedisReply])
    /// A null bulk string or a null array (for instance the reply of EXEC after a conflict).
    case null

    /// The integer value of an integer reply, or of a bulk string that holds a base-10 integer (as `GET` returns).
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Self.parseInteger(bytes)
        default: nil
        }
    }

    /// The text of a status or bulk reply (bulk decoded as UTF-8, `nil` when it is not valid UTF-8).
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(validating: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The bytes of a bulk reply.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { bytes } else { nil }
    }

    /// The elements of an array reply.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The error of an error reply.
    public var errorReply: RedisErrorReply? {
        if case .error(let error) = self { error } else { nil }
    }

    public var isNull: Bool {
        if case .null = self { true } else { false }
    }

    public var isError: Bool {
        if case .error = self { true } else { false }
    }

    /// The value of `field` in a reply to `INFO` (its `field:value` lines), or `nil` when the reply is not text or
    /// has no such line.
    public func infoField(_ field: String) -> Substring? {
        let prefix = field + ":"
        return string?.split(whereSeparator: \.isNewline).first { $0.hasPrefix(prefix) }?.dropFirst(prefix.count)
    }

    /// Parses the ASCII decimal form Redis uses for integers in bulk strings, without allocating a String.
    static func parseInteger(_ bytes: [UInt8]) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
            guard bytes.count > 1 else { return nil }
        }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) =
                negative
                ? times10.subtractingReportingOverflow(Int64(digit)) : times10.addingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { return nil }
            value = next
            index += 1
        }
        return value
    }
}

/// An error reply from the server: `WRONGTYPE Operation against a key holding the wrong kind of value` has the code
/// `WRONGTYPE` and that text.
public struct RedisErrorReply: Sendable, Hashable, CustomStringConvertible {
    /// Redis's upper-case code prefix (`ERR`, `WRONGTYPE`, `NOSCRIPT`, `EXECABORT`, `NOAUTH`, `NOPERM`, `OOM`, ...).
    public var code: String
    /// The rest of the message.
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// Splits a raw error line into code and text; a line with no upper-case prefix gets the code `ERR`.
    public init(line: String) {
        if let space = line.firstIndex(of: " ") {
            let prefix = line[..<space]
            if !prefix.isEmpty, prefix.allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }) {
                self.init(code: String(prefix), message: String(line[line.index(after: space)...]))
                return
            }
        } else if !line.isEmpty, line.allSatisfy({ $0.isUppercase || $0 == "_" }) {
            self.init(code: line, message: "")
            return
        }
        self.init(code: "ERR", message: line)
    }

    public var description: String { message.isEmpty ? code : "\(code) \(message)" }
}

extension RedisReply: CustomStringConvertible {
    /// A compact, redis-cli-like rendering for messages and debugging.
    public var description: String {
        switch self {
        case .status(let text): text
        case .error(let error): "(error) \(error)"
        case .integer(let value): "(integer) \(value)"
        case .bulk(let bytes):
            if let text = String(validating: bytes, as: UTF8.self) { "\"\(text)\"" } else { "<\(bytes.count) bytes>" }
        case .array(let elements): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .null: "(nil)"
        }
    }
}
