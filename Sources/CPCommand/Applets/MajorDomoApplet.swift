// cp majordomo serve [options]
//
// The coordinator: projects, the cyclic dependency graph, artefact state, scheduling and the
// REST API (DESIGN §6); the role is wired in MajorDomoCommand and MajorDomoNATS.

extension Applets {
    static let majordomo = Applet(
        command: CommandSpec(
            "majordomo",
            summary: "coordinate builds: projects, registrations, the graph, the REST API",
            details: """
                The MajorDomo keeps projects, what the Chefs registered, the files the watchers \
                report and every build in SQLite (in its --state directory); it reads \
                registrations, file changes and results through JetStream streams (so nothing is \
                lost while it is down), builds a project's changes once they settle (only what they \
                reach; cycles in passes), hands each task run to a Chef as a job on the work \
                queue, and serves the REST API and its event stream on a Unix socket and on TCP, \
                and a web page at / on TCP (projects, live builds, logs, the graph, Chefs; it asks \
                for the token of a --token-file MajorDomo).
                """,
            subcommands: [
                CommandSpec(
                    "serve", summary: "run the MajorDomo until interrupted",
                    options: [
                        .value(
                            "listen", .hostPort, metavar: "HOST:PORT", default: "127.0.0.1:8420",
                            help:
                                "serve the REST API and the web page on TCP (port 0: any free port); beyond loopback it needs --token-file"
                        ),
                        .value(
                            "socket", .path, metavar: "PATH",
                            defaultNote: "$XDG_RUNTIME_DIR/computepods/majordomo.sock",
                            help: "serve the REST API on this Unix socket (mode 0600, in a 0700 directory)"),
                        .value(
                            "state", .path, metavar: "DIR", defaultNote: "$XDG_STATE_HOME/computepods",
                            help: "keep the state (majordomo.db) here; one MajorDomo per directory"),
                        .value(
                            "token-file", .path, metavar: "FILE",
                            help: "require 'Authorization: Bearer TOKEN' of every request, TOKEN being FILE's text"),
                        CommonOptions.rules,
                        .value(
                            "settle", .duration, metavar: "DURATION", default: "100ms",
                            help: "build a project's changes once they have been quiet this long"),
                        .value(
                            "ack-wait", .duration, metavar: "DURATION", default: "30s",
                            help: "give a job to another Chef if the one it went to has not acknowledged it by then"),
                        .value(
                            "max-deliver", .integer(1...1000), metavar: "N", default: "5",
                            help: "fail a task as a poison job once its job was delivered N times without a result"),
                        .value(
                            "pod", .string, metavar: "NAME", defaultNote: "the host name",
                            help: "this MajorDomo's pod: where a project's files are unless its request says"),
                    ] + CommonOptions.presence(role: "majordomo") + CommonOptions.nats,
                    run: MajorDomoCommand.serve)
            ],
            examples: [
                ("cp majordomo serve --nats-url nats://127.0.0.1:4222", "run the coordinator"),
                (
                    "cp majordomo serve --listen 0.0.0.0:8420 --token-file ~/.config/computepods/token",
                    "serve other machines, with a token"
                ),
            ]),
        configSection: "majordomo",
        invocationNames: ["majordomo"],
        setup: [.configuration, .logging],
        availability: .byVerb)
}
