import Foundation
import Histogram

/// `--hdr-out PREFIX`: the run's latency histograms in HdrHistogram's percentile text format (`.hgrm`, what
/// `outputPercentileDistribution` writes and HdrHistogram's plotter reads), in milliseconds.
enum HdrOutput {
    /// Writes `PREFIX.hgrm` (per sale, from the first attempt: `latency_us`) and, for an open loop,
    /// `PREFIX.corrected.hgrm` (from the time each order was due).
    ///
    /// - Returns: the paths written.
    /// - Throws: `ConfigurationError` naming the file that could not be written.
    static func write(prefix: String, tally: WorkerTally, openLoop: Bool) throws(ConfigurationError) -> [String] {
        var files = [(prefix + ".hgrm", tally.latency)]
        if openLoop { files.append((prefix + ".corrected.hgrm", tally.correctedLatency)) }
        for (path, histogram) in files {
            var text = ""
            // Microseconds recorded, milliseconds written: the plotter's unit.
            histogram.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1_000)
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                throw ConfigurationError(
                    "--hdr-out could not write \(path): check that its directory exists and is writable")
            }
        }
        return files.map(\.0)
    }
}
