import ArgumentParser
import Foundation
import Logging
import StockSim

/// The options `run` and `sweep` share: where Redis is, and what the driver shows on stderr.
struct DriverOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Redis URL: redis://[[user]:password@]host[:port][/db], unix:///path?db=N, or a Redis Cluster: redis+cluster://[[user]:password@]host:port[,host:port…] (a redis:// URL that reaches a cluster node is run as a cluster too). Default: $STOCKSIM_REDIS_URL, else an embedded redis-server (one for a whole sweep)."
    )
    var redis: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Start an embedded Redis Cluster of N masters (instead of one redis-server) on free loopback ports, stopped at the end. sweep also takes a list (1,2,3): every point on a cluster of each count, one cluster per count.",
            valueName: "n"))
    var clusterMasters: String?

    @Option(name: .long, help: "Replicas per master of the embedded cluster (with --cluster-masters).")
    var clusterReplicas: Int = 0

    @Flag(name: .long, help: "Print no progress.")
    var quiet = false

    @Flag(name: .long, help: "Log what the driver does, on stderr.")
    var verbose = false

    /// `--redis`, else `$STOCKSIM_REDIS_URL`, else an embedded cluster with `--cluster-masters`, else an embedded
    /// server.
    var target: RedisTarget {
        if let url = redis ?? ProcessInfo.processInfo.environment["STOCKSIM_REDIS_URL"] { return .url(url) }
        if let masters = clusterMasterCounts.first {
            return .embeddedCluster(masters: masters, replicas: clusterReplicas)
        }
        return .embedded
    }

    /// The counts of `--cluster-masters`, ascending; empty without it (or when it does not parse: `validate()` says).
    var clusterMasterCounts: [Int] {
        guard let clusterMasters else { return [] }
        return (try? SweepConfiguration.masterCounts(parsing: clusterMasters)) ?? []
    }

    func validate() throws {
        if let clusterMasters {
            do {
                _ = try SweepConfiguration.masterCounts(parsing: clusterMasters)
            } catch {
                throw ValidationError(error.message)
            }
            guard redis == nil else {
                throw ValidationError(
                    "--cluster-masters starts an embedded cluster; drop it or --redis (give a cluster by URL with redis+cluster://host:port)"
                )
            }
        }
        guard (0...3).contains(clusterReplicas) else {
            throw ValidationError("--cluster-replicas must be from 0 to 3, not \(clusterReplicas)")
        }
        if clusterReplicas > 0, clusterMasters == nil {
            throw ValidationError("--cluster-replicas needs --cluster-masters N")
        }
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
