import EmbeddedRedis
import Foundation
import Hiredis
import Histogram
import Spawn
import Testing
import Yams

@testable import StockSim

/// Runs of several hosts, end to end: one coordinator (`stocksim run --hosts`) and joiners (`stocksim join`), each in
/// a network namespace of its own when the test may make them (see `HostNetwork`), against one redis-server.
@Suite(.serialized)
struct MultiHostTests {
    /// Waits for every host and returns their results, the coordinator's first.
    private func finish(_ hosts: [StocksimCLI.Background], timeout: Duration = .seconds(120)) -> [StocksimCLI.Result] {
        hosts.map { $0.finish(timeout: timeout) }
    }

    /// The run's ledger fields, read on loopback by the test.
    private func ledgerFields(_ network: HostNetwork) throws -> (fields: [String], writes: Int) {
        let connection = try network.connection()
        let fields = try connection.send("HKEYS", "{stock:count}:ledger").array?.compactMap(\.string) ?? []
        let writes = try connection.send("HGET", "{stock:count}:run", "ledger_writes").int ?? -1
        return (fields, Int(writes))
    }

    @Test("2 hosts on a 3-master Redis Cluster: control keys in one slot, the catalog's groups on every master")
    func twoHostsOnACluster() throws {
        let cluster = try RedisClusterServer(.init(masters: 3))
        defer { cluster.stop() }
        let coordinator = try StocksimCLI.start([
            "run", "--redis", cluster.url, "--hosts", "c0,c1", "--host-name", "c0", "--workers", "2", "--stock",
            "500", "--skus", "6", "--groups", "3", "--strategy", "lua", "--join-timeout", "60s", "--json",
            "--quiet",
        ])
        let joiner = try StocksimCLI.start([
            "join", "--redis", cluster.url, "--host-name", "c1", "--workers", "2", "--join-timeout", "60s", "--quiet",
        ])
        let results = finish([coordinator, joiner])
        for result in results { #expect(result.exitCode == 0, "\(result.stderr)") }
        let report = try results[0].report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.sold == 6 * 500)
        #expect(Set(report.hosts?.map(\.name) ?? []) == ["c0", "c1"])
        #expect(report.hosts?.allSatisfy { $0.acknowledged > 0 } == true, "\(report.hosts ?? [])")
        #expect((report.masters ?? []).count == 3)
        // An independent client follows the redirects: the run's control hash is there, in the slot of its tag.
        let control = try redisCLI(port: cluster.nodes[0].port, ["EXISTS", "{stocksim:run}:\(report.runId):control"])
        #expect(control.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "\(control)")
    }

    @Test("3 hosts × 4 workers sell the stock: one audit, order ids unique across hosts, histograms merged exactly")
    func threeHostsSellTheStock() throws {
        let network = try HostNetwork(hosts: 3)
        print("MultiHostTests: \(network.note)")
        let coordinator = try network.start(
            host: 0,
            [
                "run", "--redis", network.url(host: 0), "--hosts", "h0,h1,h2", "--host-name", "h0", "--workers", "4",
                "--stock", "6000", "--strategy", "lua", "--join-timeout", "60s", "--json", "--quiet",
            ])
        let joiners = try (1...2).map { host in
            try network.start(
                host: host,
                [
                    "join", "--redis", network.url(host: host), "--host-name", "h\(host)", "--workers", "4",
                    "--join-timeout", "60s", "--quiet",
                ])
        }
        let results = finish([coordinator] + joiners)
        for result in results { #expect(result.exitCode == 0, "\(result.stderr)") }
        let report = try results[0].report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.sold == 6000)
        #expect(report.stock.final == 0)
        #expect(report.workers == 12)
        // No host records its sales: the witness says why it did not check, and the totals and ledger still judge.
        #expect(
            report.audit.notes.contains { $0.hasPrefix("per-sale witness: not checked: a run of several hosts") },
            "\(report.audit.notes)")
        let rows = try #require(report.hosts)
        // The coordinator first, then the others in order of registration.
        #expect(rows.first?.name == "h0")
        #expect(Set(rows.map(\.name)) == ["h0", "h1", "h2"])
        for row in rows {
            #expect(row.workers == 4)
            #expect(!row.lost)
            #expect(row.acknowledged > 0, "every host sold: \(row)")
            #expect(row.spawnSeconds > 0)
            #expect(row.workerPeakRssBytes > 0)
            #expect(row.latencyP99Us > 0)
            #expect(row.streamEntries >= 1)
        }
        #expect(rows.map(\.acknowledged).reduce(0, +) == report.acknowledged)
        // Every order id carries its host; the ledger's writes equal its fields, so no id was written twice.
        let ledger = try ledgerFields(network)
        #expect(ledger.fields.count == report.orders)
        #expect(ledger.writes == ledger.fields.count)
        #expect(Set(ledger.fields).count == ledger.fields.count)
        var perHost: [String: Int] = [:]
        for field in ledger.fields {
            let parts = field.split(separator: ":")
            #expect(parts.count == 4 && parts[0] == Substring(report.runId), "RUN:HOST:WORKER:SEQ, not \(field)")
            if parts.count == 4 { perHost[String(parts[1]), default: 0] += 1 }
        }
        for row in rows { #expect(perHost[row.name] == row.acknowledgedOrders, "\(row.name): \(perHost)") }
        // The merged histogram (all twelve workers) is the exact sum of the hosts' own merges.
        var summed: [UInt64: UInt64] = [:]
        for row in rows { for pair in row.latencyCounts { summed[pair[0], default: 0] += pair[1] } }
        var merged: [UInt64: UInt64] = [:]
        for pair in report.latencyCounts ?? [] { merged[pair[0], default: 0] += pair[1] }
        #expect(!merged.isEmpty)
        #expect(merged == summed)
        #expect(merged.values.reduce(0, +) == UInt64(report.acknowledgedOrders))
        let coordination = try #require(report.coordination)
        #expect(coordination.hosts == 3)
        #expect(coordination.lastRegistrationToStartMs >= 0)
        #expect((coordination.lastRegistrationToFirstSaleMs ?? -1) >= coordination.lastRegistrationToStartMs - 5)
        // The run's control keys expire after the run.
        let connection = try network.connection()
        let ttl = try connection.send("TTL", RedisArgument("{stocksim:run}:\(report.runId):control")).int ?? -2
        #expect((1...RunControlKeys.retentionSeconds).contains(Int(ttl)))
        for result in results { #expect(StocksimCLI.leftovers(of: result).isEmpty) }
    }

    @Test("--chaos kill-host:1 kills a joiner mid-run: it is named lost, nothing is oversold, duplicated or lost")
    func killedHostIsLost() throws {
        let network = try HostNetwork(hosts: 3)
        print("MultiHostTests: \(network.note)")
        let coordinator = try network.start(
            host: 0,
            [
                "run", "--redis", network.url(host: 0), "--hosts", "3", "--host-name", "h0", "--workers", "4",
                "--stock", "40000", "--strategy", "lua", "--chaos", "kill-host:1", "--seed", "7",
                "--join-timeout", "60s", "--json", "--quiet",
            ])
        let joiners = try (1...2).map { host in
            try network.start(
                host: host,
                [
                    "join", "--redis", network.url(host: host), "--host-name", "h\(host)", "--workers", "4",
                    "--join-timeout", "60s", "--quiet",
                ])
        }
        let results = finish([coordinator] + joiners)
        #expect(results[0].exitCode == 0, "\(results[0].stderr)")
        let report = try results[0].report()
        let lost = try #require(report.lostHosts)
        #expect(lost.count == 1)
        let victim = try #require(lost.first)
        let victimResult = results[victim == "h1" ? 1 : 2]
        #expect(victimResult.status == .signaled(SIGKILL), "the victim's driver was killed: \(victimResult.status)")
        #expect(results[victim == "h1" ? 2 : 1].exitCode == 0)
        #expect(report.faults.contains { $0.kind == "kill-host" && $0.detail.contains(victim) })
        #expect(report.hosts?.first { $0.name == victim }?.lost == true)
        #expect(report.audit.notes.contains { $0.contains(victim) && $0.contains("lost") })
        // Redis's truth: every unit is accounted for, none twice.
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.sold <= 40000)
        #expect((report.stock.final ?? -1) + report.sold == 40000)
        let ledger = try ledgerFields(network)
        #expect(ledger.writes == ledger.fields.count)
        #expect(ledger.fields.contains { $0.split(separator: ":").dropFirst().first == Substring(victim) })
        for result in results { #expect(StocksimCLI.leftovers(of: result).isEmpty) }
    }

    @Test("a host that never joins: a clear error naming it, within the join timeout")
    func hostThatNeverJoins() throws {
        let network = try HostNetwork(hosts: 2)
        print("MultiHostTests: \(network.note)")
        let coordinator = try network.start(
            host: 0,
            [
                "run", "--redis", network.url(host: 0), "--hosts", "h0,h1,h2", "--host-name", "h0", "--workers", "2",
                "--stock", "100", "--join-timeout", "3s", "--quiet",
            ])
        let joiner = try network.start(
            host: 1,
            ["join", "--redis", network.url(host: 1), "--host-name", "h1", "--workers", "2", "--join-timeout", "6s"])
        let results = finish([coordinator, joiner], timeout: .seconds(60))
        #expect(results[0].exitCode == 2)
        #expect(results[0].stderr.contains("did not come: h2"), "\(results[0].stderr)")
        #expect(results[0].stderr.contains("registered: h0, h1") || results[0].stderr.contains("registered: h1, h0"))
        #expect(results[0].seconds < 20, "within the join timeout and the workers' start: \(results[0].seconds) s")
        #expect(results[1].exitCode == 2)
        #expect(results[1].stderr.contains("did not start the run"), "\(results[1].stderr)")
        for result in results { #expect(StocksimCLI.leftovers(of: result).isEmpty) }
    }

    /// One worker on each of two hosts: each host's run has one worker, but the other host's worker races it, so
    /// neither watches ahead (a sale makes two round trips, counted by the server) and the report says so.
    @Test("one worker a host: the other host's worker is a rival, so no host watches ahead")
    func oneWorkerAHostDoesNotWatchAhead() throws {
        let network = try HostNetwork(hosts: 2)
        print("MultiHostTests: \(network.note)")
        let connection = try network.connection()
        func readsProcessed() throws -> Int {
            let info = try #require(try connection.send("INFO", "stats").string)
            let line = try #require(info.split(separator: "\r\n").first { $0.hasPrefix("total_reads_processed:") })
            return try #require(Int(line.dropFirst("total_reads_processed:".count)))
        }
        let before = try readsProcessed()
        let coordinator = try network.start(
            host: 0,
            [
                "run", "--redis", network.url(host: 0), "--hosts", "2", "--host-name", "h0", "--workers", "1",
                "--stock", "4000", "--no-ledger", "--join-timeout", "60s", "--json", "--quiet",
            ])
        let joiner = try network.start(
            host: 1,
            ["join", "--redis", network.url(host: 1), "--host-name", "h1", "--workers", "1", "--quiet"])
        let results = finish([coordinator, joiner])
        for result in results { #expect(result.exitCode == 0, "\(result.stderr)") }
        let report = try results[0].report()
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.sold == 4000 && report.workers == 2)
        #expect(report.watchAhead == false)
        // Two read events a sale (WATCH and GET, then MULTI … EXEC); one had either host watched ahead.
        let perSale = Double(try readsProcessed() - before) / 4000
        #expect(perSale >= 1.8, "\(perSale) read events a sale")
    }

    @Test("SIGINT on the coordinator stops every host; the partial run is audited with every host's row")
    func interruptStopsEveryHost() throws {
        let network = try HostNetwork(hosts: 2)
        print("MultiHostTests: \(network.note)")
        let coordinator = try network.start(
            host: 0,
            [
                "run", "--redis", network.url(host: 0), "--hosts", "2", "--host-name", "h0", "--workers", "2",
                "--stock", "10000000", "--strategy", "lua", "--join-timeout", "60s", "--json", "--quiet",
            ])
        let joiner = try network.start(
            host: 1,
            ["join", "--redis", network.url(host: 1), "--host-name", "h1", "--workers", "2", "--quiet"])
        let connection = try network.connection()
        // Interrupt once both hosts have sold for a while.
        let selling = StocksimCLI.waitUntil(timeout: .seconds(60)) {
            let ledger = try? connection.send("HLEN", "{stock:count}:ledger").int
            return (ledger ?? 0) > 2_000
        }
        #expect(selling)
        coordinator.child.signal(SIGINT)
        let results = [coordinator.finish(timeout: .seconds(60)), joiner.finish(timeout: .seconds(60))]
        #expect(results[0].exitCode == 130, "\(results[0].stderr)")
        #expect(results[1].exitCode == 0, "the joiner stopped and handed its report over: \(results[1].stderr)")
        let report = try results[0].report()
        #expect(report.interrupted)
        #expect(report.lostHosts == nil)
        #expect(report.hosts?.count == 2)
        #expect(report.hosts?.allSatisfy { $0.acknowledged > 0 } == true)
        #expect(report.audit.passed, "\(report.audit.violations)")
        #expect(report.sold < 10_000_000)
    }

    @Test("a joiner refuses a run of another control schema")
    func joinerRefusesAnotherSchema() throws {
        let network = try HostNetwork(hosts: 1)
        let connection = try network.connection()
        _ = try connection.send("HSET", "{stocksim:run}:0badc0de:control", "schema", "99", "run", "{}")
        let joiner = try network.start(
            host: 0,
            ["join", "--redis", network.url(host: 0), "--run", "0badc0de", "--host-name", "h1", "--join-timeout", "5s"])
        let result = joiner.finish(timeout: .seconds(30))
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("control schema 99"), "\(result.stderr)")
        #expect(result.stderr.contains("refused"))
        #expect(try connection.send("EXISTS", "{stocksim:run}:0badc0de:hosts").int == 0, "it never registered")
    }

    @Test("the coordinator refuses a registration of another control schema and names it")
    func coordinatorRefusesAnotherSchema() throws {
        let network = try HostNetwork(hosts: 1)
        let coordinator = try network.start(
            host: 0,
            [
                "run", "--redis", network.url(host: 0), "--hosts", "2", "--host-name", "h0", "--workers", "1",
                "--stock", "10", "--join-timeout", "4s", "--quiet",
            ])
        let connection = try network.connection()
        var run: String?
        StocksimCLI.waitUntil(timeout: .seconds(20)) {
            run = try? connection.send("GET", "{stocksim:run}:open").string
            return run != nil
        }
        let runID = try #require(run)
        _ = try connection.send(
            "HSETNX", RedisArgument("{stocksim:run}:\(runID):hosts"), "future",
            #"{"name":"future","workers":1,"schema":99,"version":"9.9.9","registeredAtMicroseconds":0}"#)
        let result = coordinator.finish(timeout: .seconds(60))
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("refused: future (it speaks control schema 99"), "\(result.stderr)")
        #expect(
            try connection.send("HGET", RedisArgument("{stocksim:run}:\(runID):control"), "refused:future").string?
                .contains("schema 99") == true)
    }
}

/// The arithmetic of a run of several hosts, without Redis.
@Suite
struct MultiHostUnitTests {
    @Test("the clock offset comes from the sample with the shortest round trip, its midpoint")
    func clockOffsetTakesTheShortestRoundTrip() throws {
        let samples = [
            ClockSample(sentMicroseconds: 1_000, serverMicroseconds: 5_000_900, receivedMicroseconds: 1_400),
            ClockSample(sentMicroseconds: 2_000, serverMicroseconds: 5_001_050, receivedMicroseconds: 2_100),
            ClockSample(sentMicroseconds: 3_000, serverMicroseconds: 5_002_400, receivedMicroseconds: 3_900),
        ]
        let offset = try #require(ClockOffset.estimate(samples))
        #expect(offset.roundTripMicroseconds == 100)
        #expect(offset.offsetMicroseconds == 5_001_050 - 2_050)
        #expect(offset.local(offset.server(12_345)) == 12_345)
        #expect(offset.local(5_001_050) == 2_050)
        // The first sample alone would be 150 µs off: the choice matters.
        let first = try #require(ClockOffset.estimate([samples[0]]))
        #expect(first.offsetMicroseconds != offset.offsetMicroseconds)
        #expect(ClockOffset.estimate([]) == nil)
    }

    /// A worker's report with latencies recorded.
    private func worker(_ index: Int, latencies: [UInt64]) -> HostReport.Worker {
        var histogram = Histogram<UInt64>.saleLatency()
        for value in latencies { histogram.record(value) }
        var report = WorkerReport(index: index)
        report.counts.progress.units = latencies.count
        report.counts.progress.orders = latencies.count
        report.unitsBySKU = [latencies.count]
        report.latency = HistogramCounts(histogram)
        return HostReport.Worker(
            WorkerOutcome(
                index: index, pid: 1, report: report, termination: .exited(0), peakRSSBytes: 1,
                lastProgress: WorkerProgress(), failure: nil))
    }

    private func host(_ name: String, _ workers: [HostReport.Worker]) -> HostReport {
        HostReport(
            host: name, workers: workers, spawnSeconds: 0.1, elapsedSeconds: 1,
            clock: ClockOffset(offsetMicroseconds: 0, roundTripMicroseconds: 1), releaseLagMicroseconds: 0,
            streamEntries: 0, streamBytes: 0)
    }

    @Test("hosts' histograms merge exactly: the merged counts are the sum of the hosts' counts")
    func histogramsMergeExactly() throws {
        let east = host("east", [worker(0, latencies: [100, 100, 2_500]), worker(1, latencies: [90, 31_000])])
        let west = host("west", [worker(0, latencies: [100, 7_000_000])])
        let rows = [east, west].map { SimulationReport.HostRow($0, skus: 1) }
        let tally = WorkerTally((east.workers + west.workers).map(\.outcome), skus: 1)
        var summed: [UInt64: UInt64] = [:]
        for row in rows { for pair in row.latencyCounts { summed[pair[0], default: 0] += pair[1] } }
        var merged: [UInt64: UInt64] = [:]
        for pair in HistogramCounts(tally.latency).pairs { merged[pair[0], default: 0] += pair[1] }
        #expect(merged == summed)
        #expect(tally.latency.totalCount == 7)
        #expect(tally.latency.max >= 7_000_000 - 7_000_000 / 1_000)
        #expect(rows[1].latencyP99Us >= 6_990_000, "west's p99 is its own slow sale")
        // A merge that dropped a host would show: the check can fail.
        var partial: [UInt64: UInt64] = [:]
        for pair in rows[0].latencyCounts { partial[pair[0], default: 0] += pair[1] }
        #expect(partial != merged)
    }

    @Test("host messages round-trip through the stream's fields; a field that does not decode is quoted")
    func hostMessagesDecode() throws {
        let message = HostMessage.progress(
            HostProgress(host: "east", totals: WorkerProgress(units: 3, orders: 2), elapsed: 1.5))
        #expect(message.fields().count == 4)
        let encoded = try JSONEncoder.hostMessages.encode(message)
        let fields: [RedisReply] = [
            .bulk(Array("host".utf8)), .bulk(Array("east".utf8)), .bulk(Array("message".utf8)), .bulk(Array(encoded)),
        ]
        #expect(try HostMessage(fields: fields) == message)
        let bad: [RedisReply] = [.bulk(Array("message".utf8)), .bulk(Array("{\"progress\":12}".utf8))]
        #expect(throws: HostStreamError.self) { try HostMessage(fields: bad) }
        do {
            _ = try HostMessage(fields: bad)
        } catch {
            #expect(error.message.contains("{\"progress\":12}"))
        }
    }

    @Test("order ids carry the host in a run of several hosts, and stay RUN:WORKER: in a run of one")
    func orderIDs() {
        var assignment = WorkerAssignment(
            index: 3, runID: "0000abcd", redisURL: "redis://x", configuration: SimulationConfiguration(),
            orderQuota: nil, scriptSHA: "", namedConnection: false)
        #expect(assignment.orderPrefix == "0000abcd:3:")
        assignment.host = "east"
        #expect(assignment.orderPrefix == "0000abcd:east:3:")
    }

    @Test("rosters and host names are checked")
    func rosters() throws {
        #expect(try HostRoster(parsing: "3") == HostRoster(count: 3))
        #expect(try HostRoster(parsing: "a,b") == HostRoster(count: 2, names: ["a", "b"]))
        #expect(throws: ConfigurationError.self) { try HostRoster(parsing: "a,a") }
        #expect(throws: ConfigurationError.self) { try HostRoster(parsing: "0") }
        #expect(throws: ConfigurationError.self) { try HostPlan.validate(name: "a:b") }
        #expect(throws: ConfigurationError.self) { try HostPlan.validate(name: "a|b") }
        var configuration = SimulationConfiguration()
        configuration.chaos.killHost = 1
        #expect(throws: ConfigurationError.self) { try HostPlan.check(nil, configuration) }
        let plan = HostPlan(role: .coordinator(HostRoster(count: 1)), name: "solo")
        #expect(throws: ConfigurationError.self) { try plan.validate(configuration) }
    }
}

/// docker/compose.yaml's profile `hosts`, checked statically (no Docker engine here): two driver services joined into
/// one run, whose commands the built binary runs, against a loopback server, to a passing audit.
@Suite
struct MultiHostComposeTests {
    @Test("the compose profile 'hosts' runs a coordinator and a joiner into one audited run")
    func composeProfileJoinsTwoDrivers() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docker/compose.yaml"), encoding: .utf8)
        let compose = try #require(try Yams.load(yaml: text) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        var commands: [String: [String]] = [:]
        for name in ["coordinator", "joiner"] {
            let service = try #require(services[name] as? [String: Any])
            #expect(service["profiles"] as? [String] == ["hosts"])
            #expect((service["depends_on"] as? [String: Any])?["redis"] != nil)
            commands[name] = try #require(service["command"] as? [String])
        }
        let coordinator = try #require(commands["coordinator"])
        let joiner = try #require(commands["joiner"])
        #expect(coordinator.first == "run" && coordinator.contains("--hosts"))
        #expect(joiner.first == "join")
        let network = try HostNetwork(hosts: 1)
        let swap = { (arguments: [String]) in
            arguments.map { $0 == "redis://redis:6379" ? network.url(host: 0) : $0 } + ["--quiet"]
        }
        let running = try network.start(host: 0, swap(coordinator) + ["--json"])
        let joined = try network.start(host: 0, swap(joiner))
        let results = [running.finish(timeout: .seconds(120)), joined.finish(timeout: .seconds(120))]
        #expect(results[0].exitCode == 0, "\(results[0].stderr)")
        #expect(results[1].exitCode == 0, "\(results[1].stderr)")
        let report = try results[0].report()
        #expect(report.audit.passed)
        #expect(report.hosts?.map(\.name).sorted() == ["coordinator", "joiner"])
    }
}
