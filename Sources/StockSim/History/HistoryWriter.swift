import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Appends history lines to a file, one JSON object per line, buffered. A failed write is an error the caller sees
/// (from `append` when the buffer is flushed, or from `flush()` / `close()`), never a silently shorter history.
///
/// One owner at a time: a worker holds its own writer (its own file, or its own lines through its driver).
public final class HistoryWriter {
    private let path: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit: Int
    private let encoder: JSONEncoder

    /// Opens `path` for writing, creating it when missing; every write appends.
    /// - Parameters:
    ///   - path: The history file.
    ///   - truncate: Start the file empty (the default); `false` appends to what it holds.
    ///   - bufferBytes: Bytes kept before a write; 0 writes every line at once.
    /// - Throws: `HistoryError` with code `cannotOpen` when the file cannot be opened for writing.
    public init(path: String, truncate: Bool = true, bufferBytes: Int = 64 * 1024) throws {
        self.path = path
        self.bufferLimit = max(0, bufferBytes)
        let flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0)
        descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else {
            throw HistoryError(
                .cannotOpen,
                "cannot open the history file \(path) for writing: \(String(cString: strerror(errno))); check that its directory exists and is writable"
            )
        }
        encoder = JSONEncoder()
        // Sorted keys: the same event is always the same line, so histories diff and grep cleanly.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        buffer.reserveCapacity(bufferLimit + 512)
    }

    deinit {
        // Errors surface from close(); a writer dropped without it still writes what it buffered.
        if descriptor >= 0 {
            _ = try? flush()
            Glibc.close(descriptor)
        }
    }

    /// Appends one order event.
    /// - Parameter event: The event.
    /// - Throws: `HistoryError` with code `writeFailed` when a flush fails or the writer is closed.
    public func append(_ event: HistoryEvent) throws {
        try append(line: .event(event))
    }

    /// Appends one line: a header (write it first), an event, or the closing `end` line (write it last).
    /// - Parameter line: The line.
    /// - Throws: `HistoryError` with code `writeFailed` when a flush fails or the writer is closed.
    public func append(line: HistoryLine) throws {
        guard descriptor >= 0 else {
            throw HistoryError(.writeFailed, "the history file \(path) was already closed; nothing more can be written")
        }
        let data: Data
        do {
            data = try encoder.encode(line)
        } catch {
            throw HistoryError(.writeFailed, "cannot encode a history line for \(path): \(error)")
        }
        buffer.append(contentsOf: data)
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= bufferLimit { try flush() }
    }

    /// Writes out every buffered line.
    /// - Throws: `HistoryError` with code `writeFailed` when the write fails; the lines stay buffered.
    public func flush() throws {
        var written = 0
        while written < buffer.count {
            let count = buffer.withUnsafeBytes { bytes in
                Glibc.write(descriptor, bytes.baseAddress.map { $0 + written }, bytes.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                buffer.removeFirst(written)
                throw HistoryError(
                    .writeFailed, "writing the history file \(path) failed: \(reason); the history is incomplete")
            }
            written += count
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes the file; the writer cannot be used after.
    /// - Throws: `HistoryError` with code `writeFailed` when the last write or the close fails.
    public func close() throws {
        guard descriptor >= 0 else { return }
        defer { descriptor = -1 }
        do {
            try flush()
        } catch {
            Glibc.close(descriptor)
            throw error
        }
        if Glibc.close(descriptor) != 0 {
            throw HistoryError(
                .writeFailed, "closing the history file \(path) failed: \(String(cString: strerror(errno)))")
        }
    }
}
