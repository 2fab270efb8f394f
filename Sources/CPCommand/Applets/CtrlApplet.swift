// cp ctrl [options] COMMAND …
//
// The user's REST client of the MajorDomo (DESIGN §9): projects, targets, builds, logs, events.

extension Applets {
    static let ctrl = Applet(
        command: CommandSpec(
            "ctrl",
            summary: "control a MajorDomo over REST: projects, builds, logs and events (cpctrl)",
            details: """
                Talks to the MajorDomo's Unix socket, or to --url. Without --socket, the socket \
                of a 'cp up' whose directory holds the current one is used, else the default \
                socket. A project left out is the one whose root holds the current directory \
                (or the only one). A MajorDomo that is not running gets one clear line. 'build' \
                exits 0 only if the build succeeded; Ctrl-C cancels it (exit 130).
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
                .flag("json", config: .none, help: "print the MajorDomo's JSON instead of text (for scripts)"),
            ],
            subcommands: [
                CommandSpec("projects", summary: "list the projects", run: CtrlCommand.projects),
                CommandSpec(
                    "project", summary: "add or remove a project",
                    subcommands: [
                        CommandSpec(
                            "add", summary: "add the project whose files are in DIR",
                            options: [
                                .value(
                                    "name", .string, metavar: "NAME", defaultNote: "the directory's name",
                                    config: .none, help: "the project's name"),
                                .value(
                                    "pod", .string, metavar: "POD", defaultNote: "the MajorDomo's pod", config: .none,
                                    help: "the pod holding DIR, whose watcher watches it"),
                                .value(
                                    "sftp", .string, metavar: "[USER@]HOST[:PORT]", config: .none,
                                    help: "where Chefs of other pods fetch the project's files by SFTP"),
                            ],
                            positionals: [PositionalSpec("DIR", .path, help: "the project directory")],
                            run: CtrlCommand.addProject),
                        CommandSpec(
                            "remove", summary: "remove the project NAME (its files stay)",
                            positionals: [PositionalSpec("NAME", help: "the project's name")],
                            run: CtrlCommand.removeProject),
                    ]),
                CommandSpec(
                    "targets", summary: "list a project's targets",
                    positionals: [projectPositional], run: CtrlCommand.targets),
                CommandSpec(
                    "definition", summary: "print a project's targets and tasks",
                    positionals: [projectPositional], run: CtrlCommand.definition),
                CommandSpec(
                    "build", summary: "build targets (default: all) and follow the build's progress",
                    options: [
                        .value(
                            "project", short: "p", .string, metavar: "NAME",
                            defaultNote: "the project holding the current directory", config: .none,
                            help: "the targets' project")
                    ],
                    positionals: [PositionalSpec("TARGET", .string, .zeroOrMore, help: "targets to build")],
                    run: CtrlCommand.build),
                CommandSpec(
                    "status", summary: "show a build's tasks, or list the builds",
                    positionals: [PositionalSpec("BUILD", .string, .optional, help: "the build's id")],
                    run: CtrlCommand.status),
                CommandSpec(
                    "log", summary: "print a build's output, or one task's",
                    options: [
                        .flag(
                            "follow", short: "f", config: .none,
                            help: "go on printing lines as they come until the build ends")
                    ],
                    positionals: [
                        PositionalSpec("BUILD", help: "the build's id"),
                        PositionalSpec("TASK", .string, .optional, help: "only this task's output"),
                    ],
                    run: CtrlCommand.log),
                CommandSpec(
                    "cancel", summary: "cancel a running build",
                    positionals: [PositionalSpec("BUILD", help: "the build's id")], run: CtrlCommand.cancel),
                CommandSpec(
                    "monitor", summary: "print builds, tasks, file changes and Chefs as they happen, a line each",
                    run: CtrlCommand.monitor),
                CommandSpec(
                    "chefs", summary: "list the Chefs: alive or gone, kinds, jobs, load", run: CtrlCommand.chefs),
                CommandSpec(
                    "graph", summary: "print a project's graph as the MajorDomo knows it",
                    options: [
                        .value(
                            "format", .choice(["dot", "json", "mermaid"]), metavar: "FORMAT",
                            default: "dot", config: .none, help: "the output format")
                    ],
                    positionals: [projectPositional], run: CtrlCommand.graph),
                CommandSpec(
                    "why", summary: "say why a file of a project would be rebuilt, or is up to date",
                    positionals: [
                        PositionalSpec("PROJECT", help: "the project's name"),
                        PositionalSpec("PATH", help: "the file, relative to the project's root"),
                    ],
                    run: CtrlCommand.why),
            ],
            examples: [
                ("cp ctrl project add ~/thesis", "tell the MajorDomo about a project"),
                ("cp ctrl build thesis.pdf --project thesis", "build a target and watch it"),
                ("cp ctrl log -f BUILD pdflatex-1", "follow one task's output"),
                ("cp ctrl --json status | jq .", "the builds, for a script"),
            ]),
        configSection: "ctrl",
        invocationNames: ["cpctrl"],
        setup: [.configuration, .logging],
        availability: .byVerb)

    private static let projectPositional = PositionalSpec(
        "PROJECT", .string, .optional, help: "the project's name (default: the one holding the current directory)")
}
