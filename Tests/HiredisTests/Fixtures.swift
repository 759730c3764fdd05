import Dispatch
import EmbeddedRedis
import Foundation
import Hiredis

/// A key no other test uses: the test's name plus a random suffix, so a test never reads another test's data even if
/// two tests ever shared a server.
func uniqueKey(_ label: String = #function) -> String {
    let name = label.prefix { $0 != "(" }
    return "hiredis-tests:\(name):\(UInt32.random(in: .min ... .max))"
}

extension RedisReply {
    /// A bulk reply holding `text` as UTF-8, for comparing replies.
    static func bulkString(_ text: String) -> RedisReply { .bulk(Array(text.utf8)) }
}

extension RedisCommand {
    /// `RedisCommand("GET", key)` for a key held in a variable.
    init(_ name: String, key: String, _ arguments: RedisArgument...) {
        self.init([RedisArgument(name), RedisArgument(key)] + arguments)
    }
}

/// An action run on a thread of its own after a delay: a fault (a kill, a write) that must strike while the test's
/// own thread is blocked inside a call. ``wait()`` joins it, so the test never ends with the action still pending.
final class DelayedAction: Sendable {
    private let finished = DispatchSemaphore(value: 0)

    convenience init(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
        self.init(
            waiting: {
                Thread.sleep(
                    forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
            }, action)
    }

    /// Runs `action` as soon as `ready()` holds (polled every 2 ms), or after `limit` if it never does: a fault that
    /// strikes at a point of the test thread's call that the servers show, not after a delay guessed to reach it.
    convenience init(
        when ready: @escaping @Sendable () -> Bool, within limit: Duration, _ action: @escaping @Sendable () -> Void
    ) {
        self.init(
            waiting: {
                let deadline = ContinuousClock.now + limit
                while !ready() && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.002) }
            }, action)
    }

    private init(waiting: @escaping @Sendable () -> Void, _ action: @escaping @Sendable () -> Void) {
        let finished = finished
        let thread = Thread {
            waiting()
            action()
            finished.signal()
        }
        thread.start()
    }

    func wait() { finished.wait() }
}

/// The set-up of a transaction test: a server of the test's own, a stock key on it holding `units`, the connection
/// under test and a rival connection that forces the conflicts. ``stop()`` stops the server.
struct ContendedStock {
    let server: RedisServer
    let connection: RedisConnection
    let rival: RedisConnection
    let key: String

    init(units: Int64, options: RedisConnection.Options = .init(), label: String = #function) throws {
        let server = try RedisServer()
        do {
            connection = try RedisConnection(endpoint: server.endpoint, options: options)
            rival = try RedisConnection(endpoint: server.endpoint)
            key = uniqueKey(label)
            try connection.send(RedisCommand("SET", key: key, RedisArgument(units)))
        } catch {
            server.stop()
            throw error
        }
        self.server = server
    }

    func stop() { server.stop() }
}
