import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a history file line by line, streaming: only one chunk of the file and the current line are in memory.
/// Blank lines are skipped; a line that does not decode is an error that quotes its number and text.
public final class HistoryReader {
    /// The file's path.
    public let path: String
    private var descriptor: Int32
    private var chunk: [UInt8]
    private var start = 0
    private var end = 0
    private var pending: [UInt8] = []
    private var atEndOfFile = false
    /// The number of the last line read, 1-based.
    public private(set) var lineNumber = 0
    private let decoder = JSONDecoder()

    /// The longest line accepted; a longer one is malformed (a history line is a few hundred bytes).
    public static let maximumLineBytes = 1 << 20

    /// Opens `path` for reading.
    /// - Parameter path: The history file.
    /// - Throws: `HistoryError` with code `cannotOpen` when the file is missing or unreadable.
    public init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HistoryError(
                .cannotOpen, "cannot open the history file \(path): \(String(cString: strerror(errno)))")
        }
        chunk = [UInt8](repeating: 0, count: 64 * 1024)
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// The next line of the history, or `nil` at the end of the file.
    /// - Returns: The line's number and what it holds.
    /// - Throws: `HistoryError` with code `malformedLine` (a line that does not decode, quoted with its number) or
    ///   `readFailed`.
    public func next() throws -> (number: Int, line: HistoryLine)? {
        while let bytes = try nextRawLine() {
            lineNumber += 1
            if bytes.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) {
                continue
            }
            do {
                return (lineNumber, try decoder.decode(HistoryLine.self, from: Data(bytes)))
            } catch {
                throw HistoryError(
                    .malformedLine,
                    "\(path):\(lineNumber): \(Self.explain(error)): \(Self.quote(bytes))", line: lineNumber)
            }
        }
        return nil
    }

    /// The bytes of the next line without its newline, or `nil` at the end of the file.
    private func nextRawLine() throws -> [UInt8]? {
        pending.removeAll(keepingCapacity: true)
        while true {
            if start < end {
                if let newline = chunk[start..<end].firstIndex(of: UInt8(ascii: "\n")) {
                    pending.append(contentsOf: chunk[start..<newline])
                    start = newline + 1
                    return pending
                }
                pending.append(contentsOf: chunk[start..<end])
                start = end
                if pending.count > Self.maximumLineBytes {
                    throw HistoryError(
                        .malformedLine,
                        "\(path):\(lineNumber + 1): a line longer than \(Self.maximumLineBytes) bytes: \(Self.quote(pending))",
                        line: lineNumber + 1)
                }
            }
            if atEndOfFile { return pending.isEmpty ? nil : pending }
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw HistoryError(
                    .readFailed, "reading the history file \(path) failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { atEndOfFile = true }
            start = 0
            end = count
        }
    }

    /// The line as text, cut at 200 characters.
    static func quote(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        return bytes.count > 200 ? text + "…" : text
    }

    /// A decoding error in a few words.
    static func explain(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not a history line (\(error))" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let at = path(context)
            return "missing field \"\(key.stringValue)\"\(at.isEmpty ? "" : " in \(at)")"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "field \"\(path(context))\" has the wrong type (\(context.debugDescription))"
        case .dataCorrupted(let context):
            let at = path(context)
            if at.isEmpty { return "not a JSON object" }
            if at == "type" { return context.debugDescription }
            return "field \"\(at)\": \(context.debugDescription)"
        @unknown default:
            return "not a history line"
        }
    }
}
