import EmbeddedRedis
import Hiredis

#if canImport(Glibc)
import Glibc
#endif

/// One fault that was injected.
public struct InjectedFault: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `kill-worker`, `client-kill`, `restart-redis` or `pause-redis`.
    public var kind: String
    /// Seconds after the start barrier.
    public var atSeconds: Double
    /// Units sold (acknowledged) when it was injected.
    public var atUnits: Int
    /// The point of progress it was planned for, drawn from the seed: the same seed plans the same points.
    public var plannedAtUnits: Int
    public var detail: String

    public var description: String {
        "\(kind) at \(Int(atSeconds * 1000)) ms (\(NumberText.count(atUnits, "unit")) sold): \(detail)"
    }
}
