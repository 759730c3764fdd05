import Foundation
import Hiredis
import Logging

/// What a sweep reports while it runs.
public struct SweepProgress: Sendable {
    public enum Phase: Sendable {
        /// The run is about to start: stock set, workers spawned.
        case starting
        /// The workers are selling; about ten times a second.
        case selling(PoolProgress)
        /// The run ended, audited.
        case finished(SweepRun)
    }

    public var step: SweepStep
    public var phase: Phase
}
