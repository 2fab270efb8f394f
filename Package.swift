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
        // Roles as services under one signal handler (already in the graph through Hummingbird).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    ],
    targets: [
        // The executable is a few lines: everything lives in CPCommand.
        .executableTarget(name: "cp", dependencies: ["CPCommand"]),
        // bench/nats-throughput's Swift side.
        .executableTarget(
            name: "nats-bench",
            dependencies: ["NATSClient", "CPProtocol", .product(name: "Logging", package: "swift-log")]),
        // bench/majordomo-change's Swift side.
        .executableTarget(
            name: "majordomo-bench",
            dependencies: [
                "MajorDomo", "CPProtocol", "Hashing", "NATSClient", "RESTClient",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // bench/graph-*'s Swift side.
        .executableTarget(
            name: "graph-bench", dependencies: ["DependencyGraph", "RulesManager", "CPModel", "Hashing"]),
        // The composition root: applet table, parser, dispatch, printing, the roles wired to
        // their clients and run as services of one group.
        .target(
            name: "CPCommand",
            dependencies: [
                "CPModel", "CPProtocol", "NATSClient", "RESTClient", "SFTPClient", "Hashing", "FSWatcher",
                "RulesManager", "DependencyGraph", "ArtefactManager", "ProcessRunner", "MajorDomo", "MajorDomoServer",
                "Chef",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]),
        // Shared file-format types: YAML with locations, includes and deep merge; helpers for
        // blocking calls and threads.
        .target(
            name: "CPModel",
            dependencies: [.product(name: "Yams", package: "Yams")]),
        // Every NATS message of DESIGN §3 and its subject; no C library.
        .target(name: "CPProtocol"),
        // The one owner of SQLite: WAL, prepared statements, one error funnel, migrations.
        .target(name: "SQLite", dependencies: ["CSQLite"]),
        // Spawning, process groups, timeouts, line capture; the private nats-server.
        .target(name: "ProcessRunner", dependencies: ["CPModel"]),

        // One thin Swift client per C library; each C module is imported by exactly one of them.
        .target(
            name: "NATSClient",
            dependencies: ["CNATS", "CPModel", "CPProtocol", .product(name: "Logging", package: "swift-log")]),
        .target(name: "RESTClient", dependencies: ["CCurl", "CPModel"]),
        .target(name: "SFTPClient", dependencies: ["CLibSSH", "CPModel"]),
        .target(name: "Hashing", dependencies: ["COpenSSLCrypto"]),

        // The file-system watcher behind `cp watch`: inotify in one file, the rest pure Swift.
        .target(
            name: "FSWatcher",
            dependencies: ["CPModel", "CPProtocol", "Hashing", .product(name: "Logging", package: "swift-log")]),

        // Rules, tasks and projects: the definition files (DESIGN §4), loaded and checked.
        .target(name: "RulesManager", dependencies: ["CPModel"]),
        // The graph, its cycles, the scheduler and the local executor (DESIGN §5).
        .target(name: "DependencyGraph", dependencies: ["RulesManager", "CPModel", "Hashing", "ProcessRunner"]),
        // Artefact and build state that outlives a process: task records in SQLite.
        .target(name: "ArtefactManager", dependencies: ["DependencyGraph", "Hashing", "SQLite"]),

        // The coordinator's core (DESIGN §6): projects, registrations, state in SQLite; no NATS,
        // no HTTP (they are behind its protocols and beside it).
        .target(
            name: "MajorDomo",
            dependencies: [
                "CPModel", "CPProtocol", "DependencyGraph", "RulesManager", "SQLite", "ArtefactManager", "Hashing",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The worker's core (DESIGN §7): its rules, the checks on a job's paths and inputs, the
        // run with its log; no NATS (the role wires it in CPCommand).
        .target(
            name: "Chef",
            dependencies: ["CPModel", "CPProtocol", "RulesManager", "ProcessRunner", "Hashing", "SFTPClient"]),
        // The coordinator's REST API over Hummingbird, on the core.
        .target(
            name: "MajorDomoServer",
            dependencies: [
                "MajorDomo", "CPProtocol", "DependencyGraph", "RulesManager", "ProcessRunner", "CPModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The web page, compiled in (a binary installed alone still serves it).
            resources: ["index.html", "style.css", "app.js", "api.js", "build.js", "graph.js", "dom.js"].map {
                .embedInCode("Web/" + $0)
            }),

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
        .target(
            name: "TestSupport",
            dependencies: ["ProcessRunner", "CPProtocol", "DependencyGraph", "RulesManager", "Hashing"]),

        .testTarget(
            name: "CPCommandTests",
            dependencies: [
                "CPCommand", "CPModel", "NATSClient", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(name: "CPProtocolTests", dependencies: ["CPProtocol"]),
        .testTarget(name: "SQLiteTests", dependencies: ["SQLite", "TestSupport"]),
        .testTarget(
            name: "MajorDomoTests",
            dependencies: [
                "MajorDomo", "MajorDomoServer", "CPModel", "CPProtocol", "DependencyGraph", "RESTClient", "TestSupport",
                "Hashing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "ChefTests",
            dependencies: [
                "Chef", "CPModel", "CPProtocol", "RulesManager", "ProcessRunner", "Hashing", "SFTPClient",
                "TestSupport",
            ]),
        .testTarget(name: "ProcessRunnerTests", dependencies: ["ProcessRunner", "TestSupport"]),
        .testTarget(name: "CPModelTests", dependencies: ["CPModel", "TestSupport"]),
        .testTarget(name: "ClientTests", dependencies: ["NATSClient", "RESTClient", "SFTPClient", "Hashing"]),
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
        .testTarget(name: "SFTPClientTests", dependencies: ["SFTPClient", "Hashing", "TestSupport"]),
        .testTarget(
            name: "RESTClientTests",
            dependencies: ["RESTClient", "TestSupport", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(
            name: "NATSClientTests",
            dependencies: [
                "NATSClient", "CPModel", "CPProtocol", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "FSWatcherTests",
            dependencies: [
                "FSWatcher", "Hashing", "NATSClient", "CPModel", "CPProtocol", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "DependencyGraphTests",
            dependencies: ["DependencyGraph", "RulesManager", "ArtefactManager", "CPModel", "Hashing", "TestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "cp", "TestSupport", "CPCommand", "CPModel", "CPProtocol", "NATSClient", "FSWatcher", "Hashing",
                .product(name: "Logging", package: "swift-log"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
