// cp ctrl [options] COMMAND …
//
// The user's REST client of the MajorDomo (DESIGN §9): projects, targets, builds, logs, events.

extension Applets {
    static let ctrl = Applet(
        command: CommandSpec(
            "ctrl",
            summary: "control a MajorDomo over REST: projects, builds, logs and events (cpctrl)",
            details: """
                Talks to the MajorDomo's Unix socket by default, or to --url. A MajorDomo that is \
                not running gets one clear line. 'build' exits 0 only if the build succeeded.
                """,
            options: [
                .value(
                    "socket", .path, metavar: "PATH",
                    defaultNote: "$XDG_RUNTIME_DIR/computepods/majordomo.sock",
                    help: "the MajorDomo's Unix socket"),
                .value(
                    "url", .url(schemes: ["http", "https"]), metavar: "URL",
                    help: "talk to the MajorDomo at this URL instead of the socket"),
                .value(
                    "token-file", .path, metavar: "FILE",
                    help: "send the bearer token in FILE"),
                .value(
                    "timeout", .duration, metavar: "DURATION", default: "30s",
                    help: "give up on a request after this long"),
            ],
            subcommands: [
                CommandSpec("projects", summary: "list the projects"),
                CommandSpec(
                    "project", summary: "add or remove a project",
                    subcommands: [
                        CommandSpec(
                            "add", summary: "add the project whose files are in DIR",
                            positionals: [PositionalSpec("DIR", .path, help: "the project directory")]),
                        CommandSpec(
                            "remove", summary: "remove the project NAME",
                            positionals: [PositionalSpec("NAME", help: "the project's name")]),
                    ]),
                CommandSpec(
                    "targets", summary: "list a project's targets",
                    positionals: [PositionalSpec("PROJECT", help: "the project's name")]),
                CommandSpec(
                    "definition", summary: "print a project's definition",
                    positionals: [PositionalSpec("PROJECT", help: "the project's name")]),
                CommandSpec(
                    "build", summary: "build a target and follow its progress",
                    options: [
                        .value(
                            "project", short: "p", .string, metavar: "NAME",
                            help: "the target's project (needed when several projects are known)")
                    ],
                    positionals: [PositionalSpec("TARGET", help: "the target to build")]),
                CommandSpec(
                    "status", summary: "show a build's state, or every build's",
                    positionals: [PositionalSpec("ID", .string, .optional, help: "the build's id")]),
                CommandSpec(
                    "log", summary: "print a build's log, or one task's",
                    positionals: [
                        PositionalSpec("ID", help: "the build's id"),
                        PositionalSpec("TASK", .string, .optional, help: "only this task's output"),
                    ]),
                CommandSpec("monitor", summary: "stream build, artefact and heartbeat events"),
                CommandSpec(
                    "graph", summary: "print a project's graph as the MajorDomo knows it",
                    options: [
                        .value(
                            "format", .choice(["dot", "json", "mermaid"]), metavar: "FORMAT",
                            default: "dot", config: .none, help: "the output format")
                    ],
                    positionals: [PositionalSpec("PROJECT", help: "the project's name")]),
            ],
            examples: [
                ("cp ctrl project add ~/thesis", "tell the MajorDomo about a project"),
                ("cp ctrl build thesis.pdf --project thesis", "build a target and watch it"),
            ]),
        configSection: "ctrl",
        invocationNames: ["cpctrl"],
        setup: [.configuration, .logging],
        availability: .planned(issue: nil))
}
