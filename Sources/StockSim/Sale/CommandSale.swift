import Foundation
import Hiredis
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// `--strategy command --worker-command 'CMD ARGS…'`: the user's own client (protocol v1, README "Your own client"),
/// spawned by the worker process. Each order is one line on the program's stdin and one outcome line on its stdout;
/// the decision is the program's.
struct CommandSale: SaleStrategy {
    let keys: SaleKeys
    let program: UserProgram

    /// The program's own retries are its business; a lost outcome (`error`) stays unresolved.
    var canVerify: Bool { false }

    func place(_ order: Order, verify: Bool, on connection: RedisConnection) throws -> SaleOutcome {
        let lines = order.skus.map { OrderLine(key: keys.layout.stockKey($0), units: Int64(order.units)) }
        let message = ClientOrder(
            order: order.id, units: lines, ledger: keys.recordsLedger ? keys.layout.ledgerKey(group: order.group) : nil,
            run: keys.recordsLedger ? keys.layout.runKey(group: order.group) : nil)
        try program.send(try message.line())
        let reply = try program.reply()
        switch reply {
        case .sold(let id, let left) where id == order.id:
            let known = left.compactMap { $0 }
            return .sold(
                attempts: 1, conflicts: 0, left: known.count == order.skus.count ? StockLeft(known) : .unknown)
        case .refused(let id, let left) where id == order.id:
            return .outOfStock(remaining: left.map { $0 ?? 0 }, attempts: 1, conflicts: 0)
        case .error(let id, let text) where id == order.id:
            throw ClientOutcomeUnknown(message: text)
        default:
            throw program.failure("answered \(reply) for order \(order.id)")
        }
    }
}

/// The program said `error`: its order's outcome is unknown.
struct ClientOutcomeUnknown: Error {
    var message: String
}

/// The user's program broke protocol v1, crashed or hung: named by pid, with its last stderr lines.
struct UserProgramError: Error, CustomStringConvertible {
    var description: String
}

/// One spawned user program: its pipes, its stderr file and the command timeout.
final class UserProgram {
    let process: ChildProcess
    let command: String
    private let input: Int32
    private let output: Int32
    private let stderrPath: String
    private let timeout: Duration
    private var buffer: [UInt8] = []

    /// Spawns `/bin/sh -c COMMAND` with protocol v1's environment and waits for its `ready`.
    ///
    /// - Throws: `UserProgramError` when it cannot start, exits or says anything else first.
    init(
        command: String, environment: [String: String], stderrPath: String, timeout: Duration,
        readyTimeout: Duration
    ) throws {
        self.command = command
        self.stderrPath = stderrPath
        self.timeout = timeout
        signal(SIGPIPE, SIG_IGN)
        let stdin = try PipeDescriptors()
        let stdout = try PipeDescriptors()
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        do {
            process = try ChildProcess.spawn(
                "/bin/sh", arguments: ["-c", command], environment: merged.map { "\($0)=\($1)" },
                stdin: .descriptor(stdin.readEnd), stdout: .descriptor(stdout.writeEnd), stderr: .file(stderrPath),
                processGroup: nil)
        } catch {
            close(stdin.readEnd)
            close(stdin.writeEnd)
            close(stdout.readEnd)
            close(stdout.writeEnd)
            throw UserProgramError(description: "cannot start the worker command '\(command)': \(error.message)")
        }
        close(stdin.readEnd)
        close(stdout.writeEnd)
        input = stdin.writeEnd
        output = stdout.readEnd
        let first = try line(within: readyTimeout)
        guard (try? ClientReply(line: first)) == .ready else {
            throw failure("said \(first.prefix(200)) before ready")
        }
    }

    deinit {
        // End of stdin means stop (protocol v1); a program that does not is stopped after a grace period.
        close(input)
        close(output)
        process.wait(timeout: .seconds(2))
    }

    /// Writes one order line.
    func send(_ line: String) throws {
        let bytes = Array(line.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                raw.baseAddress.map { write(input, $0 + written, raw.count - written) } ?? 0
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("stopped reading its stdin (\(String(cString: strerror(errno))))")
            }
            written += count
        }
    }

    /// Reads one outcome line within the command timeout.
    func reply() throws -> ClientReply {
        let text = try line(within: timeout)
        do {
            return try ClientReply(line: text)
        } catch {
            throw failure("broke protocol v1: \(error)")
        }
    }

    private func line(within limit: Duration) throws -> String {
        let deadline = ContinuousClock().now + limit
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let text = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return text
            }
            let left = deadline - ContinuousClock().now
            guard left > .zero else { throw failure("gave no answer within \(limit)") }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(max(1, left / .milliseconds(1))))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(output, &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                let end = process.wait(timeout: .seconds(1))
                throw failure("closed its stdout (\(end))")
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    /// The error that names the program, its pid and its last stderr lines.
    func failure(_ what: String) -> UserProgramError {
        let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        let last = text.split(separator: "\n").suffix(5).joined(separator: " | ")
        return UserProgramError(
            description:
                "the worker command '\(command)' (pid \(process.pid)) \(what)\(last.isEmpty ? "" : "; its last stderr lines: \(last)")"
        )
    }
}

extension UserProgram {
    /// Spawns the worker's program with protocol v1's environment; its stderr goes to a file beside the worker's sale
    /// records, whose last lines name what went wrong.
    convenience init(assignment: WorkerAssignment, command: String) throws {
        let configuration = assignment.configuration
        let layout = configuration.layout
        let single = configuration.recordsLedger && layout.groups == 1
        try self.init(
            command: command,
            environment: ClientProtocol.environment(
                redisURL: assignment.redisURL, keys: (0..<layout.skus).map { layout.stockKey($0) },
                ledgerKey: single ? layout.ledgerKey(group: 0) : nil, runKey: single ? layout.runKey(group: 0) : nil,
                worker: assignment.index),
            stderrPath: (assignment.recordDirectory ?? NSTemporaryDirectory()) + "/w\(assignment.index).stderr",
            timeout: .milliseconds(configuration.commandTimeoutMilliseconds),
            readyTimeout: .milliseconds(configuration.connectTimeoutMilliseconds) + .seconds(20))
    }
}
