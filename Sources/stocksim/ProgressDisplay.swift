import Foundation
import StockSim

#if canImport(Glibc)
import Glibc
#endif

/// The live progress line, on stderr so that stdout stays clean for the report or JSON.
///
/// On a terminal it is redrawn in place at most ten times a second; otherwise a plain line is printed every few
/// seconds.
final class ProgressDisplay {
    private let enabled: Bool
    private let total: Int?
    private let terminal: Bool
    private var lastPlainLine = -Double.infinity
    private var drewLine = false

    init(enabled: Bool, total: Int?) {
        self.enabled = enabled
        self.total = total
        self.terminal = isatty(STDOUT_FILENO) == 1 && isatty(STDERR_FILENO) == 1
    }

    func update(_ progress: PoolProgress) {
        guard enabled else { return }
        let line = Self.line(progress, total: total)
        if terminal {
            write("\r\u{1B}[2K" + line)
            drewLine = true
        } else if progress.elapsed - lastPlainLine >= 3 {
            lastPlainLine = progress.elapsed
            write(line + "\n")
        }
    }

    func finish() {
        if drewLine {
            write("\n")
            drewLine = false
        }
    }

    static func line(_ progress: PoolProgress, total: Int?) -> String {
        let rate = progress.elapsed > 0 ? Double(progress.units) / progress.elapsed : 0
        let conflictRate = progress.attempts > 0 ? 100 * Double(progress.conflicts) / Double(progress.attempts) : 0
        let sold = total.map { "\(progress.units)/\($0)" } ?? "\(progress.units)"
        return
            "sold \(sold)  \(Int(rate)) units/s  conflicts \(String(format: "%.1f", conflictRate))%  \(String(format: "%.1f", progress.elapsed))s"
    }

    private func write(_ text: String) {
        StandardError.write(Data(text.utf8))
    }
}
