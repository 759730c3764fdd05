import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The report's way to stdout: write(2) until every byte is out, so that a full disk, a closed pipe or a closed
/// descriptor is seen (print() would buffer the text and lose the error at exit).
enum StandardOutput {
    /// The status of a run whose report or output file could not be written (EX_IOERR in sysexits.h).
    static let writeFailed = ExitCode(74)

    /// Writes `bytes` on descriptor 1.
    ///
    /// - Parameter what: what is written, for the message.
    /// - Throws: `ExitCode` 74 after one line on stderr when a write fails.
    static func write(_ bytes: some Collection<UInt8>, what: String) throws(ExitCode) {
        let bytes = Array(bytes)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(1, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("cannot write \(what) to stdout: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    /// Writes `text` and a line end on descriptor 1; see ``write(_:what:)``.
    static func writeLine(_ text: String, what: String) throws(ExitCode) {
        try write(Array((text + "\n").utf8), what: what)
    }

    /// One line on stderr (when stderr works) and status 74.
    static func failure(_ message: String) -> ExitCode {
        StandardError.write(Data("stocksim: \(message); free space or choose another place for the output\n".utf8))
        return writeFailed
    }
}

/// Lines for stderr, written with write(2) and never fatal: FileHandle stops the process when a write fails (stderr
/// on a full disk, a closed pipe), and a run must not die of its progress line.
enum StandardError {
    /// Writes `data` on descriptor 2 as far as it goes; a failure is ignored, there is nowhere left to report it.
    static func write(_ data: Data) {
        let bytes = [UInt8](data)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
