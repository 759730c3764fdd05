import Spawn

/// How one worker process ended.
struct WorkerOutcome: Sendable {
    var index: Int
    var pid: Int32
    /// The report it sent, or `nil` when it died without one.
    var report: WorkerReport?
    var termination: ChildProcess.Termination
    /// Peak resident memory, from the kernel's accounting of the reaped child (wait4).
    var peakRSSBytes: Int
    /// The last progress it sent: what it had acknowledged, if it died before its report.
    var lastProgress: WorkerProgress
    /// What went wrong in the protocol: a line that did not decode (quoted), or a `failed` message.
    var failure: String?
}
