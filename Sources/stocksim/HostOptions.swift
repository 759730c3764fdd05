import ArgumentParser
import Foundation
import StockSim

/// The options of a run of several hosts, on the coordinator (`run --hosts`).
struct HostOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Run on several hosts coordinated through Redis: N hosts, or their names NAME,NAME,… (this one's included). This host coordinates; each other runs 'stocksim join --redis URL --host-name NAME'."
    )
    var hosts: String?

    @Option(name: .long, help: "This host's name in a run of several hosts (default: the machine's host name).")
    var hostName: String?

    @Option(name: .long, help: "Time allowed for every host to register, as 30s or 1500ms (default: 30s).")
    var joinTimeout: String?

    func validate() throws {
        do {
            if let hosts { _ = try HostRoster(parsing: hosts) }
            if let hostName { try HostPlan.validate(name: hostName) }
            if let joinTimeout { _ = try DurationText.milliseconds(parsing: joinTimeout) }
        } catch {
            throw ValidationError(error.message)
        }
        if hosts == nil, hostName != nil || joinTimeout != nil {
            throw ValidationError("--host-name and --join-timeout belong to a run of several hosts: add --hosts N")
        }
    }

    /// The coordinator's plan, or `nil` without `--hosts`.
    func plan(announce: @escaping @Sendable (String) -> Void) throws -> HostPlan? {
        guard let hosts else { return nil }
        return HostPlan(
            role: .coordinator(try HostRoster(parsing: hosts)), name: hostName ?? Self.defaultName(),
            joinTimeoutMilliseconds: try joinTimeout.map { try DurationText.milliseconds(parsing: $0) }
                ?? HostPlan.defaultJoinTimeoutMilliseconds,
            announce: announce)
    }

    /// The machine's host name, cut to what a host name may hold.
    static func defaultName() -> String {
        let name = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let kept = name.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }.prefix(32)
        return kept.isEmpty ? "host" : String(kept)
    }
}
