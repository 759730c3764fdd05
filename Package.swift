// swift-tools-version: 6.0
import PackageDescription

/// One list of settings for every target, the way valkey-swift does it.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "StockSim",
    products: [
        .library(name: "Hiredis", targets: ["Hiredis"]),
        .library(name: "EmbeddedRedis", targets: ["EmbeddedRedis"]),
        .library(name: "StockSim", targets: ["StockSim"]),
        .library(name: "StockSimRendering", targets: ["StockSimRendering"]),
        .executable(name: "stocksim", targets: ["stocksim"]),
        .executable(name: "hiredis-benchmark", targets: ["HiredisBenchmark"]),
        .executable(name: "stocksim-benchmark", targets: ["StockSimBenchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "Hiredis",
            dependencies: ["CHiredis"],
            swiftSettings: swiftSettings
        ),
        // The libc calls Spawn needs that Glibc's Swift module does not export, and the fork server's loop.
        .target(name: "CSpawn"),
        .target(
            name: "Spawn",
            dependencies: ["CSpawn"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EmbeddedRedis",
            dependencies: ["Hiredis", "Spawn"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "StockSim",
            dependencies: [
                "Hiredis",
                "EmbeddedRedis",
                "Spawn",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Text, CSV and SVG renderings of reports, for the command line.
        .target(
            name: "StockSimRendering",
            dependencies: ["StockSim"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "stocksim",
            dependencies: [
                "StockSim",
                "StockSimRendering",
                "Spawn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HiredisBenchmark",
            dependencies: ["Hiredis", "EmbeddedRedis"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "StockSimBenchmark",
            dependencies: [
                "StockSim",
                "EmbeddedRedis",
                "Spawn",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What several test targets share: the suite trait that starts one Redis Cluster for a suite.
        .target(
            name: "RedisTestSupport",
            dependencies: ["EmbeddedRedis"],
            path: "Tests/RedisTestSupport",
            swiftSettings: swiftSettings
        ),
        // What the sweep's test targets share: fixed sweep figures, and the SVG chart read back as XML.
        .target(
            name: "StockSimTestSupport",
            dependencies: ["StockSim"],
            path: "Tests/StockSimTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HiredisTests",
            dependencies: ["Hiredis", "EmbeddedRedis", "Spawn", "RedisTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SpawnTests",
            dependencies: ["Spawn"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StockSimRenderingTests",
            dependencies: ["StockSimRendering", "StockSim", "StockSimTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StockSimTests",
            dependencies: [
                // StockSimBenchmark: the benchmark's option parsing and target verdicts, tested with @testable.
                "StockSim", "StockSimRendering", "Hiredis", "EmbeddedRedis", "Spawn", "StockSimBenchmark",
                "RedisTestSupport", "StockSimTestSupport",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
