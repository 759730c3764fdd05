// hiredis-benchmark: the single-key WATCH/GET + MULTI/DECR/EXEC loop through the Hiredis wrapper on one connection,
// next to the raw-hiredis C reference (../shared/reference/c_watch_decr.c) run in the same invocation against the
// same private redis-server. Prints sales per second for each and the ratio.
//
// usage: hiredis-benchmark [--stock N] [--rounds R] [--reference PATH/TO/c_watch_decr.c]
import EmbeddedRedis
import Foundation
import Hiredis
import Spawn

struct Options {
    var stock = 20_000
    var rounds = 5
    var reference: String?

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { throw Failure("\(flag) needs a value") }
            switch flag {
            case "--stock": stock = try Self.positive(value, flag)
            case "--rounds": rounds = try Self.positive(value, flag)
            case "--reference": reference = value
            default: throw Failure("unknown option \(flag); use --stock N, --rounds R, --reference PATH")
            }
        }
    }

    static func positive(_ text: String, _ flag: String) throws -> Int {
        guard let value = Int(text), value > 0 else {
            throw Failure("\(flag) takes a positive whole number, not '\(text)'")
        }
        return value
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

let key = "stock:count"

/// Sells all stock through the wrapper's transaction helper; returns sales per second.
func wrapperRound(_ endpoint: RedisEndpoint, stock: Int) throws -> Double {
    let connection = try RedisConnection(endpoint: endpoint)
    try connection.send("SET", RedisArgument(key), RedisArgument(stock))
    let transaction = OptimisticTransaction(
        watching: [RedisArgument(key)], read: RedisCommand("GET", RedisArgument(key)))
    let decrement = [RedisCommand("DECR", RedisArgument(key))]
    var sold = 0
    let clock = ContinuousClock()
    let start = clock.now
    while true {
        let result = try connection.run(transaction) { attempt in
            guard let units = attempt.read.int, units > 0 else { return .abort }
            return .commit(decrement)
        }
        guard case .committed = result.outcome else { break }
        sold += 1
    }
    let seconds = (clock.now - start) / .seconds(1)
    guard sold == stock, try connection.send("GET", RedisArgument(key)).int == 0 else {
        throw Failure("wrapper loop sold \(sold) of \(stock): conservation check failed")
    }
    return Double(sold) / seconds
}

/// Runs the C reference with one worker; returns its sales per second.
func referenceRound(_ binary: String, port: Int, stock: Int) throws -> Double {
    let pipe = try PipeDescriptors()
    let child = try ChildProcess.spawn(
        binary, arguments: [String(port), String(stock), "1"], stdout: .descriptor(pipe.writeEnd), processGroup: nil)
    close(pipe.writeEnd)
    let output = String(
        decoding: FileHandle(fileDescriptor: pipe.readEnd, closeOnDealloc: true).readDataToEndOfFile(), as: UTF8.self)
    child.wait()
    guard output.contains("check=ok"),
        let field = output.split(separator: " ").first(where: { $0.hasPrefix("sales_per_s=") }),
        let rate = Double(field.dropFirst("sales_per_s=".count))
    else { throw Failure("the C reference printed: \(output)") }
    return rate
}

func compileReference(_ explicit: String?) -> String? {
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let source =
        explicit
        ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/c_watch_decr.c").path
    guard FileManager.default.fileExists(atPath: source) else {
        print("reference: \(source) is not present; printing the wrapper's own figure only")
        return nil
    }
    let binary = NSTemporaryDirectory() + "/c_watch_decr-\(getpid())"
    guard let compiler = ChildProcess.which("cc"),
        let child = try? ChildProcess.spawn(
            compiler, arguments: ["-O2", "-o", binary, source, "-lhiredis"], stdout: .devNull, processGroup: nil),
        child.wait() == .exited(0)
    else {
        print("reference: could not compile \(source) with cc; printing the wrapper's own figure only")
        return nil
    }
    return binary
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

do {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let server = try RedisServer()
    defer { server.stop() }
    let reference = compileReference(options.reference)
    defer { if let reference { unlink(reference) } }
    print(
        "single-key WATCH/GET + MULTI/DECR/EXEC, 1 connection, stock \(options.stock), rounds: \(options.rounds), redis-server on \(server.endpoint.addressDescription)"
    )
    var wrapper: [Double] = []
    var c: [Double] = []
    for round in 1...options.rounds {
        // Interleave the two so drift on a shared machine hits both alike.
        let w = try wrapperRound(server.endpoint, stock: options.stock)
        wrapper.append(w)
        var line = "round \(round): wrapper \(Int(w)) sales/s"
        if let reference, let port = server.port {
            let r = try referenceRound(reference, port: port, stock: options.stock)
            c.append(r)
            line += ", C reference \(Int(r)) sales/s, ratio \(String(format: "%.2f", w / r))"
        }
        print(line)
    }
    var summary = "median: wrapper \(Int(median(wrapper))) sales/s"
    if !c.isEmpty {
        summary +=
            ", C reference \(Int(median(c))) sales/s, ratio \(String(format: "%.2f", median(wrapper) / median(c)))× (target ≥ 0.90×)"
    }
    print(summary)
} catch {
    FileHandle.standardError.write(Data("hiredis-benchmark: \(error)\n".utf8))
    exit(2)
}
