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
                Starts, in one process, a private nats-server on loopback (its JetStream store \
                in DIR/.cp/nats), a MajorDomo (state in DIR/.cp/majordomo; 'cp ctrl' run inside \
                DIR finds its socket), a Chef with the bundled rules (plus any --rules) and a \
                watcher on DIR. Builds the project's targets once the MajorDomo knows every \
                file, then rebuilds what each change affects, one summary line per build on \
                stdout, until interrupted. One 'cp up' per directory; Ctrl-C stops every part \
                and every job. DIR holds a *.pyml or *.tyml, or a LaTeX document or C program \
                to infer tasks from. With --hub, the nats-server is also the hub of a \
                federation: other pods' nats-servers join it as leaf nodes, their Chefs (with \
                --nats-domain) take jobs too and fetch DIR's files from --sftp.
                """,
            options: [
                CommonOptions.rules,
                CommonOptions.jobs,
                .value(
                    "listen", .hostPort, metavar: "HOST:PORT", default: "127.0.0.1:0",
                    help: "serve the REST API and web page here (port 0: a free one, printed)"),
                .value(
                    "settle", .duration, metavar: "DURATION", default: "200ms",
                    help: "report a file once it has been quiet this long"),
                .flag(
                    "once", help: "build the targets once, print the outputs' paths and exit with the build's status"),
                .flag(
                    "no-build",
                    help:
                        "do not build at start: wait for a request (the web page's Build, 'cp ctrl build'); changes are built once a build has been"
                ),
                .value(
                    "hub", .hostPort, metavar: "HOST:PORT",
                    help: "accept other pods' nats-servers as leaf nodes here (port 0: a free one, printed)"),
                .value(
                    "hub-domain", .token, metavar: "NAME", default: "hub",
                    help: "the JetStream domain of the hub, which the pods' roles name with --nats-domain"),
                .value(
                    "sftp", .string, metavar: "[USER@]HOST[:PORT]",
                    help: "where Chefs of other pods fetch DIR's files (this machine's sshd)"),
            ],
            positionals: [PositionalSpec("DIR", .path, .optional, help: "the project directory (default .)")],
            examples: [
                ("cp up --once examples/latex-paper", "build the bundled LaTeX example once"),
                ("cp up ~/thesis", "build, then rebuild on every save (Ctrl-C stops); open the printed address"),
                ("cp up --no-build ~/thesis", "watch and serve the web page; build when asked"),
                (
                    "cp up --hub 0.0.0.0:7422 --sftp me@laptop.lan ~/thesis",
                    "be the hub of pods whose Chefs fetch ~/thesis from laptop.lan by SFTP"
                ),
            ]),
        configSection: "up",
        invocationNames: [],
        setup: [.configuration, .logging],
        availability: .ready(UpCommand.run))
}
