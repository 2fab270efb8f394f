// cp watch [options] DIR…
//
// Watch directories with inotify and publish each settled change on NATS as
// fileChanged.<reason>.<pod>.<path> (DESIGN §3, §8). Tracked by issue 5.

extension Applets {
    static let watch = Applet(
        command: CommandSpec(
            "watch",
            summary: "watch directories and publish file changes on NATS (inotify2nats)",
            details: """
                Watches each DIR recursively with inotify. A file is reported once it has stopped \
                changing (closed after writing and quiet for --settle), with its SHA-256; moves, \
                deletions and editors' atomic saves come out as single events. Log files matching \
                --log-glob are streamed as 'appended' events instead of being hashed. Events go to \
                NATS as fileChanged.<reason>.<pod>.<path>, or to stdout as JSON lines with --print.
                """,
            options: [
                .value(
                    "pod", .string, metavar: "NAME", defaultNote: "the host name",
                    help: "the pod name put in every event's subject and sender"),
                .value(
                    "settle", .duration, metavar: "DURATION", default: "200ms",
                    help: "report a file once it has been quiet this long"),
                .value(
                    "log-glob", .string, metavar: "GLOB", repeatable: true,
                    help: "stream files matching GLOB as 'appended' events, unhashed"),
                .value(
                    "ignore", .string, metavar: "GLOB", repeatable: true,
                    help: "ignore paths matching GLOB (gitignore syntax), besides .git and .cpignore"),
                .value(
                    "state", .path, metavar: "FILE",
                    help: "keep the tree's hashes in FILE so a restart does not re-hash what did not change"),
                .value(
                    "allow", .path, metavar: "DIR", repeatable: true,
                    help: "accept watch requests only for directories inside DIR (default: any)"),
                .flag("print", help: "write events to stdout as JSON lines instead of publishing them"),
            ] + CommonOptions.presence(role: "watch") + CommonOptions.nats,
            positionals: [PositionalSpec("DIR", .path, .oneOrMore, help: "a directory to watch")],
            examples: [
                ("cp watch --print ~/thesis", "print every settled change under ~/thesis as JSON"),
                ("cp watch --nats-url nats://hub:4222 --log-glob '*.log' .", "publish changes to a hub"),
            ]),
        configSection: "watch",
        invocationNames: ["inotify2nats"],
        setup: [.configuration, .logging],
        availability: .ready(WatchCommand.run))
}
