import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One end of the driver ↔ worker protocol: newline-delimited JSON messages over a pair of file descriptors. Both
/// sides use it, the worker on its stdin and stdout, the driver on each worker's pipes; every message is encoded and
/// decoded here.
struct LineChannel: Sendable {
    /// A line that is not a message of the protocol, quoted.
    struct UndecodableLine: Error, CustomStringConvertible {
        var line: String
        var description: String {
            "sent a line that is not a message of the worker protocol: \(line.prefix(200).debugDescription)"
        }
    }

    /// Read from, or −1 once closed.
    private(set) var input: Int32
    /// Written to, or −1 once closed.
    private(set) var output: Int32
    private var buffer: [UInt8] = []

    init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    /// Sends one message as one line, with a single write(2) for lines under PIPE_BUF, so lines never interleave.
    ///
    /// - Returns: false when the other end is gone (EPIPE); its end of file will tell the rest.
    @discardableResult
    func send(_ message: some Encodable) -> Bool { sendEncoded(message) }

    private func sendEncoded(_ message: some Encodable) -> Bool {
        guard output >= 0, var bytes = try? JSONEncoder().encode(message) else { return false }
        bytes.append(UInt8(ascii: "\n"))
        return write(line: [UInt8](bytes))
    }

    /// Sends a worker's message as one line. The two a worker sends while it sells are written without
    /// `JSONEncoder`: `progress` by ``progressLine(_:)`` and `interval` by ``intervalLine(_:)`` (encoding a second's
    /// latency counts took `JSONEncoder` about a million instructions, in every worker every second); every other
    /// message goes through it.
    @discardableResult
    func send(_ message: WorkerMessage) -> Bool {
        switch message {
        case .progress(let progress): output >= 0 && write(line: Self.progressLine(progress))
        case .interval(let interval): output >= 0 && write(line: Self.intervalLine(interval))
        default: sendEncoded(message)
        }
    }

    /// The line `JSONEncoder` writes for `WorkerMessage.progress(progress)` (the same keys, so `JSONDecoder` reads it
    /// back as that message), with its newline, built from four integers on the worker's hot path.
    static func progressLine(_ progress: WorkerProgress) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(128)
        appendOpening(
            "progress",
            [
                "units": progress.units, "orders": progress.orders, "attempts": progress.attempts,
                "conflicts": progress.conflicts,
            ], to: &line)
        line.append(contentsOf: "}}}\n".utf8)
        return line
    }

    /// The line `JSONEncoder` writes for `WorkerMessage.interval(interval)` (the same keys, so `JSONDecoder` reads it
    /// back as that message), with its newline.
    static func intervalLine(_ interval: WorkerInterval) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(128 + interval.latency.flatCount * 8)
        appendOpening(
            "interval",
            [
                "second": interval.second, "orders": interval.orders, "units": interval.units,
                "conflicts": interval.conflicts, "refusals": interval.refusals,
            ], to: &line)
        line.append(contentsOf: #","latency":"#.utf8)
        interval.latency.appendJSON(to: &line)
        line.append(contentsOf: "}}}\n".utf8)
        return line
    }

    /// `{"CASE":{"_0":{"KEY":VALUE,…`: how `JSONEncoder` opens an enum case whose payload starts with these integers.
    private static func appendOpening(_ name: String, _ fields: KeyValuePairs<String, Int>, to line: inout [UInt8]) {
        line.append(contentsOf: #"{""#.utf8)
        line.append(contentsOf: name.utf8)
        line.append(contentsOf: #"":{"_0":{"#.utf8)
        for (index, field) in fields.enumerated() {
            if index > 0 { line.append(UInt8(ascii: ",")) }
            line.append(UInt8(ascii: "\""))
            line.append(contentsOf: field.key.utf8)
            line.append(contentsOf: #"":"#.utf8)
            line.append(contentsOf: String(field.value).utf8)
        }
    }

    private func write(line bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(output, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// Blocks until the next message arrives.
    ///
    /// - Returns: the message, or `nil` at end of file.
    /// - Throws: `UndecodableLine` quoting a line that is not a message.
    mutating func receive<Message: Decodable>(_ type: Message.Type) throws(UndecodableLine) -> Message? {
        while true {
            if let line = nextBufferedLine() { return try Self.decode(type, line) }
            guard readAvailable() else { return nil }
        }
    }

    /// Reads what is available without waiting past one read(2) (after a poll said there is something), and decodes
    /// every complete line.
    ///
    /// - Returns: the messages or undecodable lines read, and whether the other end is still open.
    mutating func receiveAvailable<Message: Decodable>(_ type: Message.Type) -> (
        messages: [Result<Message, UndecodableLine>], open: Bool
    ) {
        let open = readAvailable()
        var messages: [Result<Message, UndecodableLine>] = []
        while let line = nextBufferedLine() {
            messages.append(Result { () throws(UndecodableLine) in try Self.decode(type, line) })
        }
        return (messages, open)
    }

    /// Closes the input (after end of file, or to stop listening).
    mutating func closeInput() {
        if input >= 0 { close(input) }
        input = -1
    }

    /// Closes the output: the other end reads end of file.
    mutating func closeOutput() {
        if output >= 0 { close(output) }
        output = -1
    }

    private static func decode<Message: Decodable>(_ type: Message.Type, _ line: [UInt8]) throws(UndecodableLine)
        -> Message
    {
        do {
            return try JSONDecoder().decode(type, from: Data(line))
        } catch {
            throw UndecodableLine(line: String(decoding: line, as: UTF8.self))
        }
    }

    private mutating func nextBufferedLine() -> [UInt8]? {
        guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = Array(buffer[..<newline])
        buffer.removeSubrange(...newline)
        return line
    }

    /// One read(2) into the buffer; false at end of file or on an error other than EINTR.
    ///
    /// The bytes are read into uninitialized memory: zeroing a 64 KB chunk first would write every page of it on
    /// every read (the driver reads its workers' lines thousands of times a run, and each worker touching 16 pages it
    /// never uses is 16 page faults more per process).
    private mutating func readAvailable() -> Bool {
        guard input >= 0 else { return false }
        let descriptor = input
        while true {
            var failure: Int32 = 0
            let chunk = [UInt8](unsafeUninitializedCapacity: 65_536) { bytes, initialized in
                let count = read(descriptor, bytes.baseAddress, bytes.count)
                failure = count < 0 ? errno : 0
                initialized = max(0, count)
            }
            if failure == EINTR { continue }
            guard !chunk.isEmpty else { return false }
            buffer.append(contentsOf: chunk)
            return true
        }
    }
}
