// swift-tools-version:6.0
// The `cp` package: one binary holding every ComputePods role (DESIGN §1, §2).
import PackageDescription

let package = Package(
    name: "cp",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cp", targets: ["cp"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // The executable is a few lines: everything lives in CPCommand.
        .executableTarget(name: "cp", dependencies: ["CPCommand"]),
        // bench/nats-throughput's Swift side.
        .executableTarget(
            name: "nats-bench",
            dependencies: ["NATSClient", "CPModel", .product(name: "Logging", package: "swift-log")]),
        // bench/graph-*'s Swift side.
        .executableTarget(
            name: "graph-bench", dependencies: ["DependencyGraph", "RulesManager", "CPModel", "Hashing"]),
        .target(
            name: "CPCommand",
            dependencies: [
                "CPModel", "NATSClient", "RESTClient", "SFTPClient", "Hashing", "FSWatcher", "MajorDomo",
                "RulesManager", "DependencyGraph", "ArtefactManager",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "CPModel",
            dependencies: [.product(name: "Yams", package: "Yams")]),

        // One thin Swift client per C library; each C module is imported by exactly one of them.
        .target(
            name: "NATSClient",
            dependencies: ["CNATS", "CPModel", .product(name: "Logging", package: "swift-log")]),
        .target(name: "RESTClient", dependencies: ["CCurl", "CPModel"]),
        .target(name: "SFTPClient", dependencies: ["CLibSSH", "CPModel"]),
        .target(name: "Hashing", dependencies: ["COpenSSLCrypto"]),

        // The file-system watcher behind `cp watch`: inotify in one file, the rest pure Swift.
        .target(
            name: "FSWatcher",
            dependencies: ["CPModel", "Hashing", .product(name: "Logging", package: "swift-log")]),

        // Rules, tasks and projects: the definition files (DESIGN §4), loaded and checked.
        .target(name: "RulesManager", dependencies: ["CPModel"]),
        // The graph, its cycles, the scheduler and the local executor (DESIGN §5).
        .target(name: "DependencyGraph", dependencies: ["RulesManager", "CPModel", "Hashing"]),
        // Artefact and build state that outlives a process: task records in SQLite.
        .target(name: "ArtefactManager", dependencies: ["DependencyGraph", "Hashing", "CSQLite"]),

        // Managers. Each arrives with its issue; the MajorDomo is here now so that CI's build
        // time includes Hummingbird from the start.
        .target(
            name: "MajorDomo",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")]),

        // System libraries from Debian (PLATFORM.md: pkg-config names).
        .systemLibrary(
            name: "CNATS", pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]),
        .systemLibrary(
            name: "CLibSSH", pkgConfig: "libssh",
            providers: [.apt(["libssh-dev"])]),
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(
            name: "COpenSSLCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // libcurl plus fixed-signature wrappers for its variadic setopt/getinfo.
        .target(
            name: "CCurl",
            cSettings: [.define("CURL_DISABLE_TYPECHECK")],
            linkerSettings: [.linkedLibrary("curl")]),

        // Real servers for integration tests: nats-server and sshd on free loopback ports.
        .target(name: "TestSupport"),

        .testTarget(name: "CPCommandTests", dependencies: ["CPCommand", "CPModel", "NATSClient", "TestSupport"]),
        .testTarget(name: "CPModelTests", dependencies: ["CPModel", "TestSupport"]),
        .testTarget(name: "ClientTests", dependencies: ["NATSClient", "RESTClient", "SFTPClient", "Hashing"]),
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
        .testTarget(name: "SFTPClientTests", dependencies: ["SFTPClient", "Hashing", "TestSupport"]),
        .testTarget(
            name: "RESTClientTests",
            dependencies: ["RESTClient", "TestSupport", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(
            name: "NATSClientTests",
            dependencies: ["NATSClient", "CPModel", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "FSWatcherTests",
            dependencies: [
                "FSWatcher", "Hashing", "NATSClient", "CPModel", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "DependencyGraphTests",
            dependencies: ["DependencyGraph", "RulesManager", "ArtefactManager", "CPModel", "Hashing", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "cp", "TestSupport", "CPCommand", "CPModel", "NATSClient", "FSWatcher",
                .product(name: "Logging", package: "swift-log"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
