import EmbeddedRedis
import Foundation
import Hiredis
import RedisTestSupport
import Spawn
import Synchronization
import Testing

@testable import StockSim

/// `redis-cli -c -p PORT ARGUMENTS…`: an independent cluster client (it follows MOVED itself).
func redisCLI(port: Int, _ arguments: [String]) throws -> String {
    let directory = try TemporaryDirectory()
    let out = directory.path + "/out"
    let child = try ChildProcess.spawn(
        "/usr/bin/redis-cli", arguments: ["-c", "-p", String(port)] + arguments, environment: [],
        stdout: .file(out), stderr: .file(directory.path + "/err"), processGroup: nil)
    _ = child.wait()
    return (try? String(contentsOfFile: out, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
}

@Suite("runs on a Redis Cluster", .serialized, .sharedCluster(masters: 3))
struct ClusterRunTests {
    func simulation(_ configuration: SimulationConfiguration) throws -> Simulation {
        Simulation(
            configuration: configuration, redis: .url(try SharedCluster.cluster().url),
            workerExecutable: StocksimCLI.executable)
    }

    @Test(arguments: [Strategy.watch, .lua, .decr])
    func everyStrategySellsGroupsSpreadOverEveryMaster(_ strategy: Strategy) throws {
        let key = SharedRedis.uniqueKey()
        let report = try simulation(
            SimulationConfiguration(
                key: key, initialStock: 60, strategy: strategy, workers: 3, skus: 12, groups: 6, cartSize: 2)
        ).run()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.sold == 12 * 60)
        #expect(report.redirects == 0)
        let masters = try #require(report.masters)
        // Six groups on three masters: two on each, and each master sold its groups' stock.
        #expect(masters.count == 3)
        #expect(masters.map(\.groups.count) == [2, 2, 2])
        #expect(masters.allSatisfy { $0.sold == 4 * 60 })
        #expect(Set(masters.flatMap(\.groups)) == Set(0..<6))
        let cluster = try SharedCluster.cluster()
        let map = try cluster.slotMap()
        // Every SKU's key lives on the master the report names for its group.
        for sku in try #require(report.skus) {
            let owner = map.master(for: HashSlot(key: sku.key))?.address.description
            #expect(masters.first { $0.groups.contains(sku.group) }?.address == owner)
        }
    }

    @Test func aSingleKeyRunKeepsItsKeysAndAnIndependentClientSeesTheReportedState() throws {
        let key = SharedRedis.uniqueKey()
        let report = try simulation(SimulationConfiguration(key: key, initialStock: 300, strategy: .lua, workers: 3))
            .run()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.sold == 300)
        #expect(report.ledgerKey == "{\(key)}:ledger")
        let masters = try #require(report.masters)
        #expect(masters.count == 1)
        #expect(masters.first?.groups == [0])
        let port = try SharedCluster.cluster().nodes[0].port
        #expect(try redisCLI(port: port, ["GET", key]) == "0")
        #expect(try redisCLI(port: port, ["HLEN", "{\(key)}:ledger"]) == String(report.orders))
        #expect(try redisCLI(port: port, ["HGET", "{\(key)}:run", "ledger_writes"]) == String(report.orders))
    }

    /// Salted groups on three masters: the report names the ledgers as they are in Redis, not an unsalted pattern.
    @Test func everyKeyTheReportNamesExistsInTheClusterAfterTheRun() throws {
        let key = SharedRedis.uniqueKey()
        let report = try simulation(
            SimulationConfiguration(key: key, initialStock: 20, strategy: .lua, workers: 2, skus: 6, groups: 3)
        ).run()
        #expect(report.audit.passed, "\(report.audit)")
        let ledgers = try #require(report.ledgerKeys)
        #expect(ledgers.count == 3)
        #expect(report.ledgerKey == ledgers.joined(separator: ", "))
        #expect(ledgers.allSatisfy { $0.hasPrefix("{\(key):g") && $0.contains(".") }, "salted tags: \(ledgers)")
        let port = try SharedCluster.cluster().nodes[0].port
        let named = ledgers + (report.skus ?? []).map(\.key)
        #expect(named.count == 3 + 6)
        for name in named {
            #expect(
                try redisCLI(port: port, ["EXISTS", name]) == "1", "\(name), named by the report, is not in the cluster"
            )
        }
        #expect(try redisCLI(port: port, ["EXISTS", "{\(key):g0}:ledger"]) == "0", "the unsalted name is not a key")
    }

    @Test func aRedisURLThatReachesAClusterNodeRunsAsACluster() throws {
        let key = SharedRedis.uniqueKey()
        let port = try SharedCluster.cluster().nodes[1].port
        let result = try StocksimCLI.run([
            "run", "--redis", "redis://127.0.0.1:\(port)", "--key", key, "--stock", "20", "--skus", "6", "--groups",
            "3", "--workers", "2", "--strategy", "watch", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed)
        #expect(report.clusterNote?.contains("cluster_enabled:1") == true)
        #expect(report.masters?.count == 3)
        // An independent client reads every SKU back as sold out.
        for sku in report.skus ?? [] { #expect(try redisCLI(port: port, ["GET", sku.key]) == "0") }
    }

    /// One worker on one key would watch ahead on a single node; a cluster's transactions never send ahead, and the
    /// report says what the workers did.
    @Test func oneWorkerOnAClusterDoesNotWatchAhead() throws {
        let key = SharedRedis.uniqueKey()
        let port = try SharedCluster.cluster().nodes[0].port
        let result = try StocksimCLI.run([
            "run", "--redis", "redis://127.0.0.1:\(port)", "--key", key, "--stock", "50", "--workers", "1", "--json",
            "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed && report.sold == 50)
        #expect(report.clusterNote != nil)
        #expect(report.watchAhead == false)
    }

    /// `--strategy script` on three masters: every owner loads the user's script, and after a SCRIPT FLUSH on every
    /// master each worker's first EVALSHA meets NOSCRIPT on its group's owner, loads the script there and goes on.
    @Test(arguments: [false, true])
    func theUsersScriptSellsOnEveryMasterAndIsReloadedOnNoscript(flushed: Bool) throws {
        var configuration = SimulationConfiguration(
            key: SharedRedis.uniqueKey(), initialStock: 60, strategy: .script, workers: 3, skus: 12, groups: 6,
            cartSize: 2)
        configuration.script = try UserScript(path: ScriptStrategyTests.example)
        var simulation = try simulation(configuration)
        let flushes = Mutex(0)
        if flushed {
            simulation.afterPrepare = { connection throws in
                let reply = try connection.send("SCRIPT", "FLUSH")
                #expect(reply.string == "OK")
                flushes.withLock { $0 += 1 }
            }
        }
        let report = try simulation.run()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.audit.checked == "ledger")
        #expect(report.sold == 12 * 60 && report.acknowledged == 12 * 60)
        #expect(try #require(report.masters).map(\.groups.count) == [2, 2, 2])
        #expect(report.audit.notes.contains { $0.contains("sales on 12 keys checked as one chain") }, "\(report.audit)")
        #expect(flushes.withLock { $0 } == (flushed ? 3 : 0))
    }

    @Test func ordersMeetASlotMigrationAndAreRedirectedWithNothingLostOrDuplicated() throws {
        let key = SharedRedis.uniqueKey()
        let cluster = try SharedCluster.cluster()
        let slot = HashSlot(key: key)
        let source = try cluster.master(of: slot)
        let target = try #require(try cluster.masters().first { $0.id != source.id })
        for strategy in [Strategy.watch, .lua, .decr] {
            var migrated = false
            // The first progress (after about 100 ms) starts the migration: lua and decr sell ten times the units so
            // that their runs are still selling when it moves the slot (at 4,000 units a lua run could end first).
            let units = strategy == .watch ? 4000 : 40_000
            let report = try simulation(
                SimulationConfiguration(key: key, initialStock: units, strategy: strategy, workers: 3)
            ).run(progress: { progress in
                guard !migrated, progress.units > 200 else { return }
                migrated = true
                // Workers meet ASK while the slot moves and MOVED after: each order is placed again on the owner.
                let owner = (try? cluster.master(of: slot)).map { $0.id == source.id ? target : source } ?? target
                try? cluster.migrate(slot, to: owner)
            })
            #expect(migrated)
            #expect(report.audit.passed, "\(report.audit)")
            #expect(report.sold == Int64(units))
            #expect(report.acknowledged == units)
            #expect(report.redirects > 0, "\(strategy): no worker met the migration")
            #expect(report.conflicts == 0 || strategy == .watch)
        }
    }
}

@Suite("cluster targets")
struct ClusterTargetTests {
    @Test func anEmbeddedClusterIsStartedForTheRunAndStoppedAfterIt() throws {
        let result = try StocksimCLI.run([
            "run", "--cluster-masters", "2", "--stock", "30", "--skus", "4", "--groups", "4", "--workers", "2",
            "--strategy", "lua", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed)
        #expect(report.embedded)
        #expect(report.redis.hasPrefix("redis+cluster://"))
        #expect(report.masters?.map(\.groups.count) == [2, 2])
        #expect(StocksimCLI.leftovers(of: result).isEmpty, "\(StocksimCLI.leftovers(of: result))")
    }

    @Test func ctrlCStopsTheRunAndItsEmbeddedCluster() throws {
        let background = try StocksimCLI.start([
            "run", "--cluster-masters", "2", "--stock", "100000000", "--workers", "2", "--strategy", "lua", "--json",
            "--quiet",
        ])
        // finish sends SIGINT after the timeout, as Ctrl-C does.
        let result = background.finish(timeout: .seconds(5))
        let report = try result.report()
        #expect(report.interrupted)
        #expect(report.audit.passed, "\(report.audit)")
        #expect(StocksimCLI.leftovers(of: result).isEmpty, "\(StocksimCLI.leftovers(of: result))")
    }

    @Test func aSweepRunsOnAnEmbeddedCluster() throws {
        let result = try StocksimCLI.run([
            "sweep", "--cluster-masters", "2", "--strategy", "lua,watch", "--workers", "2", "--stock", "300", "--skus",
            "4", "--groups", "4", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout.contains("audit: PASSED in every run"), "\(result.stdout)")
        #expect(result.stdout.contains("embedded cluster, 2 masters"), "\(result.stdout)")
        #expect(!result.stdout.contains("redis-server"), "a cluster is not an embedded redis-server")
        #expect(StocksimCLI.leftovers(of: result).isEmpty)
    }

    @Test func aSweepComparesMasterCountsEachOnAnEmbeddedClusterOfItsOwn() throws {
        let files = try TemporaryDirectory()
        let (csv, json) = (files.path + "/sweep.csv", files.path + "/sweep.json")
        let result = try StocksimCLI.run([
            "sweep", "--cluster-masters", "1,2", "--strategy", "lua", "--workers", "2", "--repeat", "1", "--stock",
            "200", "--skus", "4", "--groups", "4", "--quiet", "--csv", csv, "--json", json,
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let table = result.stdout
        #expect(table.contains("embedded clusters of 1, 2 masters"), "\(table)")
        #expect(!table.contains("redis-server"))
        #expect(table.contains("(2 of 2 runs)"), "\(table)")
        let header = try #require(table.split(separator: "\n").first { $0.hasPrefix("strategy") })
        #expect(header.hasPrefix("strategy  masters  workers"), "\(header)")
        #expect(table.contains("lua on 1 master: 2 workers") && table.contains("lua on 2 masters: 2 workers"))

        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        // Columns are added at the end: find this one by its name.
        let mastersColumn = try #require(rows.first?.firstIndex(of: "masters"))
        #expect(rows.dropFirst().map { $0[mastersColumn] } == ["1", "2"])

        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        let parameters = try #require(document["parameters"] as? [String: Any])
        #expect(parameters["cluster_masters"] as? [Int] == [1, 2])
        let points = try #require(document["points"] as? [[String: Any]])
        #expect(points.compactMap { $0["masters"] as? Int } == [1, 2])
        // Each point's run was on a cluster of its master count.
        let masters = points.compactMap {
            (($0["runs"] as? [[String: Any]])?.first?["report"] as? [String: Any])?["masters"] as? [Any]
        }
        #expect(masters.map(\.count) == [1, 2])
        #expect(StocksimCLI.leftovers(of: result).isEmpty)

        let runList = try StocksimCLI.run(["run", "--cluster-masters", "1,2", "--stock", "10"])
        #expect(runList.exitCode == 64 && runList.stderr.contains("stocksim sweep --cluster-masters"))
    }

    @Test func clusterFlagsAreCheckedBeforeAnythingStarts() throws {
        let both = try StocksimCLI.run(["run", "--cluster-masters", "2", "--redis", "redis://127.0.0.1:1"])
        #expect(both.exitCode == 64, "\(both.stderr)")
        #expect(both.stderr.contains("--cluster-masters starts an embedded cluster"))
        let replicas = try StocksimCLI.run(["run", "--cluster-replicas", "1"])
        #expect(replicas.stderr.contains("--cluster-replicas needs --cluster-masters N"))
    }

    /// The layout never produces a cross-slot cart: with salts, every key of a group shares one slot, and an
    /// unsalted layout (a single node, one group) keeps today's names byte for byte.
    @Test func everyKeyOfAGroupSharesOneSlotAndUnsaltedNamesAreUnchanged() {
        let salted = CatalogLayout(key: "stock:count", skus: 12, groups: 3, salts: ["7", "0", "31"])
        for group in 0..<3 {
            let slots = Set(
                salted.skus(in: group).map { HashSlot(key: salted.stockKey($0)) } + [
                    HashSlot(key: salted.ledgerKey(group: group)), HashSlot(key: salted.runKey(group: group)),
                ])
            #expect(slots.count == 1)
        }
        #expect(salted.ledgerKey(group: 2) == "{stock:count:g2.31}:ledger")
        let plain = CatalogLayout(key: "stock:count", skus: 12, groups: 3)
        #expect(plain.stockKey(4) == "{stock:count:g1}:sku:4")
        let single = CatalogLayout(key: "stock:count", skus: 1, groups: 1)
        #expect(single.stockKey(0) == "stock:count")
        #expect(single.ledgerKey(group: 0) == "{stock:count}:ledger")
    }
}

@Suite("chaos on a Redis Cluster")
struct ClusterChaosTests {
    @Test func aRunThroughSlotMigrationsIsRedirectedAndPassesItsAudit() throws {
        let result = try StocksimCLI.run([
            "run", "--cluster-masters", "3", "--stock", "1500", "--skus", "6", "--groups", "3", "--cart-size", "2",
            "--workers", "3", "--strategy", "watch", "--chaos", "migrate-slot:2", "--seed", "7", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.faults.filter { $0.kind == "migrate-slot" && $0.detail.contains("moved from") }.count == 2)
        #expect(report.sold == 6 * 1500)
        #expect(report.acknowledged == 6 * 1500)
        #expect(StocksimCLI.leftovers(of: result).isEmpty)
    }

    @Test func aRunThroughAFailoverPassesItsAudit() throws {
        let result = try StocksimCLI.run([
            "run", "--cluster-masters", "2", "--cluster-replicas", "1", "--stock", "4000", "--workers", "3",
            "--strategy", "lua", "--chaos", "failover:1", "--json", "--quiet",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try result.report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.faults.first?.detail.contains("took over") == true, "\(report.faults)")
        #expect(report.sold == 4000)
        #expect(report.acknowledged + report.unresolvedUnits == 4000)
        #expect(StocksimCLI.leftovers(of: result).isEmpty)
    }

    @Test func aKilledMasterWithoutReplicaStopsTheRunWithExit2AndNamesItsGroups() throws {
        let result = try StocksimCLI.run([
            "run", "--cluster-masters", "3", "--stock", "3000", "--skus", "6", "--groups", "3", "--workers", "3",
            "--strategy", "lua", "--chaos", "kill-master:1", "--reconnect-timeout", "1500", "--json", "--quiet",
        ])
        #expect(result.exitCode == 2, "\(result.stderr)")
        let report = try result.report()
        let unreachable = try #require(report.unreachableGroups)
        #expect(unreachable.count == 1)
        #expect(report.audit.passed, "\(report.audit)")
        #expect(report.audit.notes.contains { $0.contains("not audited") })
        #expect(report.incompleteReason?.contains("unreachable") == true)
        #expect(StocksimCLI.leftovers(of: result).isEmpty)
    }

    /// A cluster the test started, given by URL: StockSim attaches to it (CLUSTER NODES) for the cluster faults.
    @Test func chaosOnAClusterGivenByURLMigratesAndFailsOverAndDecrCartsLoseNothing() throws {
        let cluster = try RedisClusterServer(
            .init(
                masters: 3, replicasPerMaster: 1, node: .init(extraConfiguration: ["cluster-allow-reads-when-down yes"])
            ))
        defer { cluster.stop() }
        let port = cluster.nodes[0].port
        let watch = try StocksimCLI.run([
            "run", "--redis", cluster.url, "--key", SharedRedis.uniqueKey(), "--stock", "1500", "--skus", "6",
            "--groups", "3", "--cart-size", "2", "--workers", "3", "--strategy", "watch", "--chaos",
            "migrate-slot:1,failover:1", "--seed", "7", "--json", "--quiet",
        ])
        #expect(watch.exitCode == 0, "\(watch.stderr)")
        let report = try watch.report()
        #expect(report.audit.passed, "\(report.audit)")
        #expect(
            report.faults.contains { $0.kind == "migrate-slot" && $0.detail.contains("moved from") }, "\(report.faults)"
        )
        #expect(report.faults.contains { $0.kind == "failover" && $0.detail.contains("took over") }, "\(report.faults)")
        #expect(report.sold == 6 * 1500)
        #expect(report.acknowledged + report.unresolvedUnits == 6 * 1500)
        for sku in report.skus ?? [] { #expect(try redisCLI(port: port, ["GET", sku.key]) == "0") }

        // decr carts: a slot that moves between two DECRBYs of one order resumes the order on the new owner rather
        // than placing it again, so no unit is taken twice (what decr may lose — a ledger entry after a crash between
        // decrement and ledger write — needs a dead connection, which a migration is not).
        for seed in ["1", "2", "3"] {
            let decr = try StocksimCLI.run([
                "run", "--redis", cluster.url, "--key", SharedRedis.uniqueKey(), "--stock", "2000", "--skus", "4",
                "--groups", "2", "--cart-size", "2", "--workers", "4", "--strategy", "decr", "--chaos",
                "migrate-slot:3", "--seed", seed, "--json", "--quiet",
            ])
            #expect(decr.exitCode == 0, "\(decr.stderr)")
            let carts = try decr.report()
            #expect(carts.audit.passed, "seed \(seed): \(carts.audit)")
            #expect(carts.faults.filter { $0.detail.contains("moved from") }.count == 3, "\(carts.faults)")
            #expect(carts.redirects > 0)
            #expect(carts.sold == 4 * 2000 && carts.acknowledged == 4 * 2000)
            for sku in carts.skus ?? [] { #expect(try redisCLI(port: port, ["GET", sku.key]) == "0") }
        }
    }

    @Test func aKilledMasterOfAClusterGivenByURLStopsTheRunWithExit2() throws {
        let cluster = try RedisClusterServer(
            .init(masters: 3, node: .init(extraConfiguration: ["cluster-allow-reads-when-down yes"])))
        defer { cluster.stop() }
        let result = try StocksimCLI.run([
            "run", "--redis", cluster.url, "--key", SharedRedis.uniqueKey(), "--stock", "3000", "--skus", "6",
            "--groups", "3", "--workers", "3", "--strategy", "lua", "--chaos", "kill-master:1", "--reconnect-timeout",
            "1500", "--json", "--quiet",
        ])
        #expect(result.exitCode == 2, "\(result.stderr)")
        let report = try result.report()
        #expect(report.faults.first?.detail.contains("SHUTDOWN NOSAVE") == true, "\(report.faults)")
        #expect(try #require(report.unreachableGroups).count == 1)
        #expect(report.audit.passed, "\(report.audit)")
        // The test owns the processes, so it asks the nodes themselves: one of them was shut down.
        let answering = cluster.nodes.filter { (try? RedisConnection(endpoint: $0.endpoint).send("PING")) != nil }
        #expect(answering.count == 2, "one master was stopped")
    }

    @Test func clusterFaultsNeedTheEmbeddedClusterAndFailoverItsReplicas() throws {
        let noCluster = try StocksimCLI.run(["run", "--stock", "10", "--chaos", "migrate-slot:1"])
        #expect(noCluster.exitCode != 0)
        #expect(noCluster.stderr.contains("--cluster-masters"), "\(noCluster.stderr)")
        let noReplica = try StocksimCLI.run(["run", "--cluster-masters", "1", "--stock", "10", "--chaos", "failover:1"])
        #expect(noReplica.exitCode != 0)
        #expect(noReplica.stderr.contains("--cluster-replicas 1"), "\(noReplica.stderr)")
    }
}
