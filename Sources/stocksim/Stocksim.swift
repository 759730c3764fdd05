import ArgumentParser
import Foundation
import Spawn
import StockSim
import Synchronization

/// The `stocksim` command: a thin layer over the StockSim library.
@main
struct Stocksim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stocksim",
        abstract: "Prove, under real concurrency, that a Redis inventory counter is never oversold.",
        discussion: """
            Exit status: 0 the audit passed; 1 the audit found a violation the run caused (oversell, duplicate, \
            lost sale); 2 the run could not complete or nothing was audited (Redis unreachable, a bad stock key, \
            workers that failed to start or all died); 3 the data was changed from outside the run (stock added, \
            ledger entries removed by another client), so the audit cannot vouch for it; 64 a bad flag or value; \
            74 the report or an output file could not be written (a full disk, a closed pipe); \
            130 or 143 stopped by SIGINT or SIGTERM (after printing the partial report).
            """,
        version: "0.1.0",
        subcommands: [Run.self, Sweep.self, Check.self, Join.self, Worker.self]
    )

    /// Parses, runs, and turns every error into one line on stderr and a documented exit status.
    static func main() {
        // Before anything opens a file or a socket: a closed 0, 1 or 2 would be given to it.
        StandardStreams.reopenClosedOnDevNull()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version, or the bare command: print help.
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error)
            if !message.isEmpty {
                let named = CommandLine.arguments.dropFirst().first ?? ""
                let subcommand = ["sweep", "check", "join"].contains(named) ? named : "run"
                let hint =
                    error is ValidationError || code == .validationFailure
                    ? " (see 'stocksim \(subcommand) --help')" : ""
                StandardError.write(Data("stocksim: \(message)\(hint)\n".utf8))
            }
            Foundation.exit(code.rawValue)
        }
    }

    /// Prints a run or sweep that could not start as one line on stderr; returns its status: 64 for a bad
    /// configuration, 2 for everything else.
    static func exit(for error: SimulationError) -> ExitCode {
        StandardError.write(Data("stocksim: \(error.message)\n".utf8))
        return error.code == .invalidConfiguration ? .validationFailure : ExitCode(2)
    }

    /// Runs `body` while a progress display is up and takes the display down (`finish`) when it ends, before anything
    /// else is printed; a library failure becomes an exit status, its message written once the display is gone.
    static func showingProgress<Value>(
        finish: () -> Void, _ body: () throws -> Value
    ) throws -> Value {
        do {
            let value = try body()
            finish()
            return value
        } catch let error as SimulationError {
            finish()
            throw exit(for: error)
        } catch {
            finish()
            throw error
        }
    }

    /// Whether SIGINT or SIGTERM has asked the run to stop (see `Run.installSignalHandlers()`).
    static func stopRequested() -> Bool { stopSignal.load(ordering: .relaxed) != 0 }

    /// `stocksim` alone prints help.
    func run() throws {
        print(Self.helpMessage())
    }
}

extension Stocksim {
    /// The hidden worker mode: the driver starts this binary once as `stocksim worker --fork-server`, which forks
    /// every worker process (`ForkServer`); `stocksim worker` alone is one worker.
    struct Worker: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "worker", abstract: "Run as a worker of a simulation (internal).", shouldDisplay: false)

        @Flag(name: .customLong("fork-server"), help: .hidden)
        var forkServer = false

        func run() throws {
            StandardStreams.reopenClosedOnDevNull()
            if forkServer { WorkerProcess.warmUp() }
            let status =
                forkServer
                ? ForkServer.serve(
                    name: "stocksim-pool", childName: "stocksim-worker", fallbackExecutable: "/proc/self/exe",
                    fallbackArguments: ["worker"], worker: WorkerProcess.main)
                : WorkerProcess.main()
            // Not `throw ExitCode(status)`: ArgumentParser would end stdout, the protocol's channel, with an empty line.
            Foundation.exit(status)
        }
    }
}
