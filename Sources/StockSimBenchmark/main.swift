// stocksim-benchmark: StockSim at several worker counts and strategies next to the reference programs in
// ../shared/reference — the raw-hiredis C loop (plain, backoff and lua modes) and the redis-py snippet — with the same
// stock and workers, all against one private redis-server, interleaved round by round. Prints medians with their
// min–max, ratios, context switches per worker and CPU per sale; then how a run's cost grows with orders and workers
// (only that with --scaling, left out with --no-scaling); and a PASS/FAIL line per target of both. It reports; it
// does not gate.
//
// usage: stocksim-benchmark [--stock N] [--workers LIST] [--repeat R] [--settle SECONDS] [--cpus free|split|shared]
//                           [--halt-poll NS] [--reference-dir PATH] [--python PATH] [--stocksim PATH]
//                           [--scaling-orders LIST] [--scaling-workers LIST | --no-scaling]
//        stocksim-benchmark --scaling [--scaling-orders LIST] [--scaling-workers LIST] [--stocksim PATH]
import Foundation
import Logging
import Synchronization

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("stocksim-benchmark: \(message)\n".utf8))
    exit(status)
}

let options: Options
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
} catch {
    fail("\(error.message) (see stocksim-benchmark --help)", status: 64)
}
if options.help {
    print(Options.usage)
    exit(0)
}
// The simulations log their steps at info; only warnings belong in a benchmark's output.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}
do {
    try Benchmark(options: options).run()
} catch {
    // Stopped by a signal: its handler is cleaning up and exits 128 + signal; this failure is its doing.
    while Benchmark.stopSignal.load(ordering: .sequentiallyConsistent) != 0 { sleep(1) }
    fail(error.message, status: 2)
}
