import Hiredis

/// One reading of Redis's clock: local CLOCK_MONOTONIC microseconds when `TIME` was sent and when its reply came,
/// and the server's microseconds since the epoch in between.
struct ClockSample: Sendable, Hashable {
    var sentMicroseconds: Int64
    var serverMicroseconds: Int64
    var receivedMicroseconds: Int64

    var roundTripMicroseconds: Int64 { receivedMicroseconds - sentMicroseconds }
}

/// How far Redis's clock is from this host's monotonic clock. Every host maps the one start instant, set in Redis's
/// clock, onto its own clock with it, so hosts whose wall clocks disagree still start together.
struct ClockOffset: Codable, Sendable, Hashable {
    /// Redis's microseconds minus local monotonic microseconds.
    var offsetMicroseconds: Int64
    /// The round trip of the sample it came from: the offset is right within half of it.
    var roundTripMicroseconds: Int64

    /// The sample with the shortest round trip wins (NTP's rule: its midpoint is the least uncertain); the server
    /// read its clock somewhere in that round trip, taken to be its middle.
    ///
    /// - Returns: `nil` without samples.
    static func estimate(_ samples: [ClockSample]) -> ClockOffset? {
        guard let best = samples.min(by: { $0.roundTripMicroseconds < $1.roundTripMicroseconds }) else { return nil }
        let midpoint = best.sentMicroseconds + best.roundTripMicroseconds / 2
        return ClockOffset(
            offsetMicroseconds: best.serverMicroseconds - midpoint, roundTripMicroseconds: best.roundTripMicroseconds)
    }

    /// A local monotonic instant for an instant of Redis's clock.
    func local(_ serverMicroseconds: Int64) -> Int64 { serverMicroseconds - offsetMicroseconds }
    /// Redis's clock at a local monotonic instant.
    func server(_ localMicroseconds: Int64) -> Int64 { localMicroseconds + offsetMicroseconds }

    /// Reads `TIME` `count` times and estimates the offset.
    ///
    /// - Throws: `RedisError` when Redis cannot be read or `TIME` answers something else.
    static func measure(on connection: RedisConnection, count: Int = 7) throws(RedisError) -> ClockOffset {
        var samples: [ClockSample] = []
        for _ in 0..<max(1, count) {
            let sent = localMicroseconds()
            let reply = try connection.send("TIME")
            let received = localMicroseconds()
            guard let pair = reply.array, pair.count == 2, let seconds = pair[0].string.flatMap({ Int64($0) }),
                let micros = pair[1].string.flatMap({ Int64($0) })
            else { throw RedisError(.protocolError, "TIME answered \(reply), not seconds and microseconds") }
            samples.append(
                ClockSample(
                    sentMicroseconds: sent, serverMicroseconds: seconds * 1_000_000 + micros,
                    receivedMicroseconds: received))
        }
        // Non-empty: at least one sample was taken or TIME threw.
        return estimate(samples) ?? ClockOffset(offsetMicroseconds: 0, roundTripMicroseconds: 0)
    }

    /// Local CLOCK_MONOTONIC in microseconds.
    static func localMicroseconds() -> Int64 { Int64(monotonicNanoseconds() / 1_000) }
}
