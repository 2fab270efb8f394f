// cp majordomo serve [options]
//
// The coordinator: projects, the cyclic dependency graph, artefact state, scheduling, the REST
// API and the web UI (DESIGN §6).

extension Applets {
    static let majordomo = Applet(
        command: CommandSpec(
            "majordomo",
            summary: "coordinate builds: graph, artefact state, scheduling, REST API and web UI",
            details: """
                The MajorDomo keeps projects, types, rules, the dependency graph and every \
                artefact's state in SQLite, decides what to rebuild when files change, hands jobs \
                to Chefs through a JetStream work queue, and serves the REST API and web UI on a \
                Unix socket and on TCP.
                """,
            subcommands: [
                CommandSpec(
                    "serve", summary: "run the MajorDomo until interrupted",
                    options: [
                        .value(
                            "socket", .path, metavar: "PATH",
                            defaultNote: "$XDG_RUNTIME_DIR/computepods/majordomo.sock",
                            help: "serve the REST API on this Unix socket (mode 0600)"),
                        .value(
                            "listen", .hostPort, metavar: "HOST:PORT", default: "127.0.0.1:8420",
                            help: "also serve the REST API and web UI on TCP; non-loopback needs --token-file"),
                        .value(
                            "token-file", .path, metavar: "FILE",
                            help: "require the bearer token in FILE from REST clients"),
                        .value(
                            "database", .path, metavar: "FILE",
                            defaultNote: "$XDG_STATE_HOME/computepods/majordomo.db",
                            help: "the SQLite database holding projects, artefacts and builds"),
                        .value(
                            "settle", .duration, metavar: "DURATION", default: "200ms",
                            help: "coalesce bursts of file changes arriving within this time"),
                        CommonOptions.maxPasses,
                    ] + CommonOptions.presence(role: "majordomo") + CommonOptions.nats)
            ],
            examples: [("cp majordomo serve --listen 127.0.0.1:8420", "run the coordinator")]),
        configSection: "majordomo",
        invocationNames: ["majordomo"],
        setup: [.configuration, .logging],
        availability: .planned(issue: nil))
}
