// cp chef [options]
//
// A worker: loads rules, registers what it can build, pulls jobs from the work queue, runs
// them as subprocesses, streams their logs and reports results (DESIGN §7).

extension Applets {
    static let chef = Applet(
        command: CommandSpec(
            "chef",
            summary: "run build steps for the MajorDomo with the rules it loads",
            details: """
                A Chef loads rules files, registers its types and rules with the MajorDomo, and \
                pulls jobs from the work queue of its kind whenever it has a free slot. It runs \
                the command from its own rules (never one carried by a message), without a shell, \
                in a per-job work directory, streams the output and reports the outputs' hashes.
                """,
            options: [
                CommonOptions.rules,
                .value(
                    "kind", .string, metavar: "KIND", default: "general",
                    help: "the work queue this Chef serves (build.from.KIND)"),
                CommonOptions.jobs,
                .value(
                    "work-dir", .path, metavar: "DIR", defaultNote: "$XDG_CACHE_HOME/computepods/chef",
                    help: "where per-job work directories are made"),
                .value(
                    "timeout", .duration, metavar: "DURATION", default: "1h",
                    help: "stop a job that runs longer than this"),
                .value(
                    "pod", .string, metavar: "NAME", defaultNote: "the host name",
                    help: "the pod this Chef runs in"),
            ] + CommonOptions.presence(role: "chef") + CommonOptions.nats,
            examples: [("cp chef --rules ~/rules/latex -j 2", "serve LaTeX jobs, two at a time")]),
        configSection: "chef",
        invocationNames: ["cpchef"],
        setup: [.configuration, .logging],
        availability: .planned(issue: nil))
}
