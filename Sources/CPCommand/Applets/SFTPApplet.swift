// cp sftp [options] put|get|ls|mkdir|rm|rmdir|stat|mv …
//
// Move files between pods over SFTP: key authentication, strict known-hosts checking,
// pipelined transfers, atomic puts, resumable gets (DESIGN §9). The work is in SFTPCommand.

extension Applets {
    private static let preserve = OptionSpec.flag(
        "preserve", short: "p", config: .none, help: "keep the files' mode and modification time")
    private static let recursive = OptionSpec.flag(
        "recursive", short: "r", config: .none, help: "copy directory trees")

    static let sftp = Applet(
        command: CommandSpec(
            "sftp",
            summary: "move files between pods over SFTP",
            details: """
                Remote paths are written [USER@]HOST[:PORT]:PATH. Host keys are checked against \
                ~/.ssh/known_hosts (or --known-hosts): an unknown host is refused with its \
                fingerprint unless --accept-new is given, and a changed key is always refused. \
                Puts write a temporary file and rename it over the target only when complete.
                """,
            options: CommonOptions.ssh + [
                .flag("accept-new", help: "trust and record the key of a host never seen before"),
                .value(
                    "connect-timeout", .duration, metavar: "DURATION", default: "10s",
                    help: "give up connecting after this long"),
            ],
            subcommands: [
                CommandSpec(
                    "put", summary: "upload files (atomically) to a remote directory or path",
                    options: [recursive, preserve],
                    positionals: [
                        PositionalSpec("LOCAL", .path, .oneOrMore, help: "files to upload"),
                        PositionalSpec("REMOTE", help: "[USER@]HOST[:PORT]:PATH"),
                    ],
                    run: SFTPCommand.put),
                CommandSpec(
                    "get", summary: "download remote files",
                    options: [
                        recursive, preserve,
                        .flag("resume", config: .none, help: "continue a partial download"),
                    ],
                    positionals: [
                        PositionalSpec("REMOTE", .string, .oneOrMore, help: "[USER@]HOST[:PORT]:PATH"),
                        PositionalSpec("LOCAL", .path, help: "where to put them"),
                    ],
                    run: SFTPCommand.get),
                CommandSpec(
                    "ls", summary: "list a remote directory",
                    options: [.flag("long", short: "l", config: .none, help: "show mode, size and time")],
                    positionals: [PositionalSpec("REMOTE", help: "[USER@]HOST[:PORT]:PATH")], run: SFTPCommand.list),
                CommandSpec(
                    "mkdir", summary: "make a remote directory",
                    options: [
                        .flag(
                            "parents", short: "p", config: .none,
                            help: "make missing parents too; no error if it exists")
                    ],
                    positionals: [PositionalSpec("REMOTE", help: "[USER@]HOST[:PORT]:PATH")],
                    run: SFTPCommand.makeDirectory),
                CommandSpec(
                    "rm", summary: "remove remote files",
                    positionals: [PositionalSpec("REMOTE", .string, .oneOrMore, help: "[USER@]HOST[:PORT]:PATH")],
                    run: SFTPCommand.remove),
                CommandSpec(
                    "rmdir", summary: "remove empty remote directories",
                    positionals: [PositionalSpec("REMOTE", .string, .oneOrMore, help: "[USER@]HOST[:PORT]:PATH")],
                    run: SFTPCommand.removeDirectory),
                CommandSpec(
                    "stat", summary: "show a remote file's type, size, mode and time",
                    positionals: [PositionalSpec("REMOTE", help: "[USER@]HOST[:PORT]:PATH")], run: SFTPCommand.stat),
                CommandSpec(
                    "mv", summary: "rename a remote file",
                    positionals: [
                        PositionalSpec("REMOTE", help: "[USER@]HOST[:PORT]:PATH"),
                        PositionalSpec("NEWPATH", help: "the new path on the same host"),
                    ],
                    run: SFTPCommand.rename),
            ],
            examples: [
                ("cp sftp put -p out/thesis.pdf pod2:/srv/out/", "upload a file, keeping its mode and time"),
                ("cp sftp get --resume pod2:/srv/big.tar .", "continue an interrupted download"),
            ]),
        configSection: "sftp",
        invocationNames: [],
        setup: [.configuration, .logging],
        availability: .byVerb)
}
