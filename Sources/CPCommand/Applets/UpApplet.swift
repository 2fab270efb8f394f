// cp up [options] [DIR]
//
// The whole federation on one machine: a private nats-server, a MajorDomo, a Chef with the
// bundled rules and a watcher on DIR; builds DIR's targets, then rebuilds on every change.

extension Applets {
    static let up = Applet(
        command: CommandSpec(
            "up",
            summary: "run everything on one machine: build DIR, then rebuild on every change",
            details: """
                Starts a private nats-server on loopback, a MajorDomo, a Chef with the bundled \
                rules (plus any --rules) and a watcher on DIR, builds the project's targets, and \
                rebuilds what each change affects until interrupted.
                """,
            options: [
                CommonOptions.rules,
                CommonOptions.jobs,
                .value(
                    "listen", .hostPort, metavar: "HOST:PORT", default: "127.0.0.1:8420",
                    help: "serve the REST API and web UI here"),
                .value(
                    "settle", .duration, metavar: "DURATION", default: "200ms",
                    help: "report a file once it has been quiet this long"),
                .flag("once", help: "build the targets once and exit with the build's status"),
            ],
            positionals: [PositionalSpec("DIR", .path, .optional, help: "the project directory (default .)")],
            examples: [("cp up --once examples/cyclic-latex", "build the bundled example once")]),
        configSection: "up",
        invocationNames: [],
        setup: [.configuration, .logging],
        availability: .planned(issue: nil))
}
