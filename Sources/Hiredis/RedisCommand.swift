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

    /// Appends the argument in RESP, `$LEN\r\nBYTES\r\n`, with no intermediate copy: an integer's digits are
    /// written straight into `buffer`, a string's bytes are copied from its UTF-8 storage.
    func appendEncoded(to buffer: inout [UInt8]) {
        switch storage {
        case .string(var text):
            // Native strings know their UTF-8 length at once; a bridged one is made native first.
            text.makeContiguousUTF8()
            RESP.appendHeader(UInt8(ascii: "$"), text.utf8.count, to: &buffer)
            buffer.append(contentsOf: text.utf8)
        case .bytes(let bytes):
            RESP.appendHeader(UInt8(ascii: "$"), bytes.count, to: &buffer)
            buffer.append(contentsOf: bytes)
        case .integer(let value):
            RESP.appendHeader(UInt8(ascii: "$"), RESP.decimalLength(value), to: &buffer)
            RESP.appendDecimal(value, to: &buffer)
        }
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// An upper bound of the encoded length that is exact for integers and native strings (for reserving).
    var encodedLengthEstimate: Int {
        switch storage {
        case .string(let text): text.utf8.count + 16
        case .bytes(let bytes): bytes.count + 16
        case .integer: 20 + 16
        }
    }
}

/// RESP's number lines, written without `String` or protocol dispatch (the hot path formats an order's numbers).
enum RESP {
    /// `MARKER` `N` `\r\n`: `*N` (the argument count) or `$N` (an argument's length).
    static func appendHeader(_ marker: UInt8, _ number: Int, to buffer: inout [UInt8]) {
        buffer.append(marker)
        appendDecimal(Int64(number), to: &buffer)
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    /// The number of bytes of `value` in decimal, its minus sign included.
    static func decimalLength(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            length += 1
        }
        return length
    }

    /// Appends `value` in decimal ASCII, as `String(value)` spells it.
    static func appendDecimal(_ value: Int64, to buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        // At most 20 digits (UInt64.max); written backwards into a fixed-size tuple, then copied in order.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { scratch in
            while magnitude > 0 {
                count += 1
                scratch[24 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[(24 - count)...]))
        }
    }
}

/// A command encoded once in Redis's wire format (RESP: `*N`, then `$len` and the bytes of each argument), ready to
/// be queued on a connection any number of times with a single copy. Build hot-path commands once and reuse them; a
/// command whose first arguments are fixed and whose last ones change per use is built from a
/// ``RedisCommandPrefix``, which copies the fixed part's bytes instead of encoding them again.
public struct RedisCommand: Sendable, Hashable, CustomStringConvertible {
    /// The whole command as the server reads it.
    let encoded: [UInt8]

    /// - Parameter arguments: the command name followed by its arguments; must not be empty.
    public init(_ arguments: [RedisArgument]) {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(arguments.reduce(16) { $0 + $1.encodedLengthEstimate })
        RESP.appendHeader(UInt8(ascii: "*"), arguments.count, to: &encoded)
        for item in arguments { item.appendEncoded(to: &encoded) }
        self.init(encoded: encoded, transactionBoundary: Self.boundary(encoded))
    }

    /// `RedisCommand("SET", "key", "value")`.
    public init(_ name: String, _ arguments: RedisArgument...) {
        self.init([RedisArgument(name)] + arguments)
    }

    init(encoded: [UInt8], transactionBoundary: Bool?, isEmpty: Bool? = nil) {
        self.encoded = encoded
        self.transactionBoundary = transactionBoundary
        self.isEmpty = isEmpty ?? (Self.nameSpan(encoded)?.isEmpty ?? true)
    }

    /// Where each argument's bytes are in `encoded`, the command name first: read back from the RESP this type wrote
    /// (only messages and tests ask).
    var spans: [Range<Int>] {
        var spans: [Range<Int>] = []
        var index = 0
        let count = Self.number(in: encoded, at: &index)
        spans.reserveCapacity(count)
        for _ in 0..<count {
            let length = Self.number(in: encoded, at: &index)
            spans.append(index..<index + length)
            index += length + 2
        }
        return spans
    }

    /// The number after the marker at `index` (`*N` or `$N`), moving `index` past its line end.
    private static func number(in encoded: [UInt8], at index: inout Int) -> Int {
        var value = 0
        index += 1
        while index < encoded.count, encoded[index] != UInt8(ascii: "\r") {
            value = value * 10 + Int(encoded[index] &- UInt8(ascii: "0"))
            index += 1
        }
        index += 2
        return value
    }

    /// The first argument's bytes (the command name), found without reading the rest.
    private static func nameSpan(_ encoded: [UInt8]) -> Range<Int>? {
        var index = 0
        guard Self.number(in: encoded, at: &index) > 0, index < encoded.count else { return nil }
        let length = Self.number(in: encoded, at: &index)
        return index..<index + length
    }

    /// The number of arguments, the command name included.
    public var count: Int {
        var index = 0
        return Self.number(in: encoded, at: &index)
    }

    /// The command name as sent (for messages), without its arguments, which may be secrets.
    public var name: String {
        guard let span = Self.nameSpan(encoded) else { return "" }
        return String(decoding: encoded[span], as: UTF8.self).uppercased()
    }

    /// The arguments, as bytes.
    public var arguments: [[UInt8]] { spans.map { Array(encoded[$0]) } }

    public var description: String { name }

    /// True when the command has no name (or an empty one): there is nothing to send. Found when it is built.
    let isEmpty: Bool

    /// `true` for MULTI, `false` for EXEC or DISCARD, `nil` for every other command. Found once when the command is
    /// built, so that sending a prebuilt command (EVALSHA has DISCARD's length) compares no bytes.
    let transactionBoundary: Bool?

    static func boundary(_ encoded: [UInt8]) -> Bool? {
        guard let span = nameSpan(encoded), span.count == 4 || span.count == 5 || span.count == 7 else { return nil }
        let name = encoded[span].lazy.map { $0 & 0xDF }  // ASCII upper case, without an array
        if name.elementsEqual("MULTI".utf8) { return true }
        if name.elementsEqual("EXEC".utf8) || name.elementsEqual("DISCARD".utf8) { return false }
        return nil
    }
}

/// The fixed first arguments of a command, encoded once (`HSETNX ledger`, `EVALSHA sha 3 k1 k2 k3`): each use
/// appends its own last arguments (`ORDER UNITS`) and copies the fixed bytes, so a command sent once per order costs
/// one buffer, not the encoding of every argument.
public struct RedisCommandPrefix: Sendable, Hashable {
    /// The fixed arguments in RESP, without the `*N` line.
    let body: [UInt8]
    let count: Int
    let transactionBoundary: Bool?
    let isEmpty: Bool

    /// - Parameter arguments: the command name followed by its fixed arguments; must not be empty.
    public init(_ arguments: [RedisArgument]) {
        var body: [UInt8] = []
        body.reserveCapacity(arguments.reduce(0) { $0 + $1.encodedLengthEstimate })
        for item in arguments { item.appendEncoded(to: &body) }
        self.body = body
        count = arguments.count
        let whole = RedisCommand(arguments)
        transactionBoundary = whole.transactionBoundary
        isEmpty = whole.isEmpty
    }

    /// `RedisCommandPrefix("HSETNX", "ledger")`.
    public init(_ name: String, _ arguments: RedisArgument...) {
        self.init([RedisArgument(name)] + arguments)
    }

    /// The whole command: the fixed arguments, then `trailing`.
    public func command(_ trailing: RedisArgument...) -> RedisCommand { command(trailing) }

    /// The whole command: the fixed arguments, then `trailing`.
    public func command(_ trailing: [RedisArgument]) -> RedisCommand {
        var encoded: [UInt8] = []
        encoded.reserveCapacity(trailing.reduce(body.count + 8) { $0 + $1.encodedLengthEstimate })
        RESP.appendHeader(UInt8(ascii: "*"), count + trailing.count, to: &encoded)
        encoded.append(contentsOf: body)
        for item in trailing { item.appendEncoded(to: &encoded) }
        return RedisCommand(encoded: encoded, transactionBoundary: transactionBoundary, isEmpty: isEmpty)
    }
}
