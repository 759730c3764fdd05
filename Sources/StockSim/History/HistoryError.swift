/// A history that cannot be written or read: a file that cannot be opened, a failed write, a line that does not
/// decode (with its number and text).
public struct HistoryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong; codes can grow.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case cannotOpen
            case writeFailed
            case readFailed
            case malformedLine
        }
        private let value: Value

        /// The file could not be opened (missing, unreadable, a directory that does not exist).
        public static let cannotOpen = Code(value: .cannotOpen)
        /// A write to the history failed (disk full, I/O error); the history is incomplete.
        public static let writeFailed = Code(value: .writeFailed)
        /// A read from the history failed.
        public static let readFailed = Code(value: .readFailed)
        /// A line is not a history line, or breaks the order of events; `line` says which.
        public static let malformedLine = Code(value: .malformedLine)

        public var description: String {
            switch value {
            case .cannotOpen: "cannot-open"
            case .writeFailed: "write-failed"
            case .readFailed: "read-failed"
            case .malformedLine: "malformed-line"
            }
        }
    }

    public var code: Code
    /// What happened and what to do.
    public var message: String
    /// The 1-based line number, for `malformedLine`.
    public var line: Int?

    /// An error.
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - message: What happened and what to do.
    ///   - line: The 1-based line number it concerns.
    public init(_ code: Code, _ message: String, line: Int? = nil) {
        self.code = code
        self.message = message
        self.line = line
    }

    public var description: String { message }
}
