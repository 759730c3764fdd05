import ArgumentParser
import Foundation
import Logging
import StockSim

/// The options `run` and `sweep` share: where Redis is, and what the driver shows on stderr.
struct DriverOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Redis URL: redis://[[user]:password@]host[:port][/db] or unix:///path?db=N. Default: $STOCKSIM_REDIS_URL, else an embedded redis-server (one for a whole sweep)."
    )
    var redis: String?

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    @Flag(name: .long, help: "Log what the driver does, on stderr.")
    var verbose = false

    /// `--redis`, else `$STOCKSIM_REDIS_URL`, else an embedded server.
    var target: RedisTarget {
        (redis ?? ProcessInfo.processInfo.environment["STOCKSIM_REDIS_URL"]).map { .url($0) } ?? .embedded
    }

    /// Sends logs to stderr (the driver's steps with `--verbose`, warnings otherwise) and returns the driver's logger.
    func startLogging() -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .info : .warning
            return handler
        }
        return Logger(label: "stocksim")
    }
}
