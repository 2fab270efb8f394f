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
                takes jobs from the work queue of its kind, one at a time and only while one of \
                its -j slots is free. For each job it runs the build of its own rule (a message \
                names a rule, never a command), without a shell, with a timeout and a clean \
                environment, in the project root on a shared filesystem or in a mirror of it \
                under --work-dir, its inputs fetched by SFTP from the job's pod (host keys \
                checked strictly, files kept by content so none is fetched twice) and its outputs \
                put back atomically; every path must stay inside the project and every input \
                must have the digest the job gives. The \
                output is streamed on logger.PROJECT.TASK and kept whole in logs/JOBID.log \
                under --work-dir; the outputs' digests go back in the result. On SIGTERM it takes \
                no new job, lets running ones end within --grace, then kills them and hands them \
                back to the queue.
                """,
            options: [
                CommonOptions.rules,
                .value(
                    "kind", .string, metavar: "KIND", defaultNote: "named after its rules",
                    help: "the work queue this Chef serves (build.from.KIND); Chefs of one kind share it"),
                CommonOptions.jobs,
                .value(
                    "work-dir", .path, metavar: "DIR", defaultNote: "$XDG_CACHE_HOME/computepods/chef",
                    help: "where per-job work directories are made"),
                .value(
                    "timeout", .duration, metavar: "DURATION", default: "1h",
                    help: "kill a job (its whole process group) that runs longer than this"),
                .value(
                    "grace", .duration, metavar: "DURATION", default: "10s",
                    help: "on SIGTERM, how long running jobs may go on before they are killed and handed back"),
                .value(
                    "pod", .string, metavar: "NAME", defaultNote: "the host name",
                    help: "the pod this Chef runs in"),
                .value(
                    "allow", .path, metavar: "DIR", repeatable: true,
                    help: "run jobs of projects on this machine only inside DIR (default: any)"),
            ] + CommonOptions.ssh + CommonOptions.presence(role: "chef") + CommonOptions.nats,
            examples: [
                ("cp chef -j 2", "serve the bundled rules' jobs, two at a time"),
                ("cp chef --rules ~/rules/latex --kind latex", "serve the jobs of the 'latex' work queue"),
            ]),
        configSection: "chef",
        invocationNames: ["cpchef"],
        setup: [.configuration, .logging],
        availability: .ready(ChefCommand.run))
}
