// cp graph [dot|json|mermaid] [export|plan|cycles|tasks|why PATH|check|build] [options]
//
// Load a project offline and print its graph, its plan, its cycles, why an artefact is out of
// date; check it; or build it without any daemon (DESIGN §5, §9). Tracked by issue 6.

extension Applets {
    static let graph = Applet(
        command: CommandSpec(
            "graph",
            summary: "show, check or build a project's dependency graph offline",
            details: """
                Loads the project in --project (its *.pyml and *.tyml files) with the rules in \
                --rules (default: the bundled C, LaTeX and file rules), without any daemon. \
                A directory with no such file gets its tasks inferred: each top-level .tex \
                with \\documentclass is a document (its engine, bibliography and index \
                found in its source), each .c file is compiled and each one defining main \
                linked into a program; 'tasks' prints them, to keep as tasks.tyml. \
                'build' runs what the goals need, in build order, cyclic components in passes \
                until the files that close each cycle stop changing; its state is kept in \
                .cp/state.db under the project, so a second build runs nothing, and one \
                build of a project runs at a time (.cp/build.lock). Tasks run \
                without a shell, in the project directory, with a clean environment (PATH, \
                HOME, USER, TMPDIR, SOURCE_DATE_EPOCH when set, LANG=C.UTF-8, TERM=dumb, \
                CP_PROJECT_DIR, CP_TASK, CP_PASS). The format word may stand before or after \
                the command: 'cp graph dot export' and 'cp graph export --format dot' mean the \
                same. Without a command, it exports.
                """,
            options: [
                .value(
                    "project", .path, metavar: "DIR", default: ".",
                    help: "the project directory"),
                CommonOptions.rules,
                .value(
                    "target", .string, metavar: "T", repeatable: true, config: .none,
                    help: "only the goals of target T (for every command; 'build T' says the same)"),
                .value(
                    "format", .choice(["dot", "json", "mermaid"]), metavar: "FORMAT", default: "dot",
                    help: "the output format of export"),
                .value(
                    "output", short: "o", .path, metavar: "FILE", config: .none,
                    help: "write to FILE (atomically) instead of stdout"),
            ],
            subcommands: [
                CommandSpec(
                    "export", summary: "print the graph: tasks, artefacts, edges, cyclic components",
                    run: GraphCommand.export),
                CommandSpec(
                    "plan", summary: "print the components in build order and why each task would run",
                    options: [CommonOptions.maxPasses], run: GraphCommand.plan),
                CommandSpec("cycles", summary: "print the cyclic components", run: GraphCommand.cycles),
                CommandSpec(
                    "tasks",
                    summary: "print the project's tasks as a tasks file (inferred ones, to keep and edit)",
                    run: GraphCommand.tasks),
                CommandSpec(
                    "why", summary: "say why PATH is out of date, or that it is up to date",
                    options: [CommonOptions.maxPasses],
                    positionals: [PositionalSpec("PATH", help: "an artefact, relative to the project")],
                    run: GraphCommand.why),
                CommandSpec(
                    "check", summary: "load and validate the project; exit 1 on any error", run: GraphCommand.check),
                CommandSpec(
                    "build", summary: "build targets locally, with no daemon (state in .cp/state.db)",
                    options: [
                        CommonOptions.jobs, CommonOptions.maxPasses,
                        .flag(
                            "system-files",
                            help:
                                "record the files outside the project a tool reports reading (TeX Live's .sty, /usr/include), so updating them reruns what read them"
                        ),
                    ],
                    positionals: [
                        PositionalSpec("TARGET", .string, .zeroOrMore, help: "targets to build (default: all)")
                    ],
                    run: GraphCommand.build),
            ],
            defaultSubcommand: "export",
            optionWords: ["dot", "json", "mermaid"].map { OptionWord($0, setting: "format", to: $0) },
            examples: [
                ("cp graph dot --project ~/thesis | dot -Tsvg > graph.svg", "draw the graph"),
                ("cp graph why thesis.pdf", "explain what would rebuild thesis.pdf"),
                (
                    "cp graph build --project examples/latex-paper",
                    "typeset the bundled paper (3 pdflatex runs, like latexmk)"
                ),
                ("cp graph plan", "list what a build would run, and why"),
                ("cp graph tasks --project ~/thesis > ~/thesis/tasks.tyml", "write out the inferred tasks to edit"),
            ]),
        configSection: "graph",
        invocationNames: [],
        setup: [.configuration, .logging],
        availability: .byVerb)
}
