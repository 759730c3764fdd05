import Foundation
import Hiredis

/// A configuration that cannot run, with a message that says what to change.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
