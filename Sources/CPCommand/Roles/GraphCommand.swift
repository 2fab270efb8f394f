import CPModel
import DependencyGraph
import Foundation
import RulesManager

/// `cp graph`: a project's dependency graph, offline (DESIGN §5, §9): `check` loads and
/// validates it, `export` writes it as DOT, JSON or Mermaid, `cycles` lists its cyclic
/// components, `plan` and `why` say what a build would do, `build` does it (`GraphBuild`).
enum GraphCommand {
    /// What every verb starts from: the project loaded, its state (read ahead for the verbs
    /// that use it), and the settings.
    struct Context {
        let invocation: Invocation
        let project: Project
        let state: GraphBuild.State
        var settings: ResolvedSettings { invocation.settings }
        var maxPasses: Int { settings.integer("max-passes") }
    }

    /// Loads the project (`check` always parses; the others may use the cached graph), runs
    /// `body`, and waits for the state's read ahead before returning.
    static func withProject(
        _ invocation: Invocation, readsState: Bool, parse: Bool = false,
        _ body: (Context) async throws -> ExitStatus
    ) async throws -> ExitStatus {
        let settings = invocation.settings
        let root = settings.text("project")
        let targets =
            invocation.parsed.positionalValues("TARGET").compactMap(\.text)
            + settings.values("target").compactMap(\.text)
        let state = GraphBuild.State(root: root, readAhead: readsState)
        let status: ExitStatus
        do {
            let project = try Project.load(
                root: root, rulePaths: try BundledRules.resolve(settings.values("rules").compactMap(\.text)),
                targets: targets,
                useCache: !parse)
            ProcessLifetime.keepUntilExit(project, state)
            status = try await body(Context(invocation: invocation, project: project, state: state))
        } catch let error as DefinitionError {
            Output.error("graph", "\(error)")
            status = .failure
        } catch {
            await state.finish()
            throw error
        }
        await state.finish()
        return status
    }

    /// `cp graph build`.
    @Sendable static func build(_ invocation: Invocation) async throws -> ExitStatus {
        try await withProject(invocation, readsState: true) { context in
            try await GraphBuild.build(context.project, context.state, invocation: invocation)
        }
    }

    /// `cp graph plan`: the plan on stdout, the counts on stderr.
    @Sendable static func plan(_ invocation: Invocation) async throws -> ExitStatus {
        try await withProject(invocation, readsState: true) { context in
            let (scheduler, files) = try await GraphBuild.scheduler(
                context.project, context.state, maxPasses: context.maxPasses)
            defer { try? files.save() }
            let plan = scheduler.plan()
            try write(plan.text, context)
            Output.error("graph", plan.counts)
            return .success
        }
    }

    /// `cp graph why PATH`.
    @Sendable static func why(_ invocation: Invocation) async throws -> ExitStatus {
        try await withProject(invocation, readsState: true) { context in
            let path = invocation.parsed.positional("PATH")?.text ?? ""
            let (scheduler, files) = try await GraphBuild.scheduler(
                context.project, context.state, maxPasses: context.maxPasses)
            defer { try? files.save() }
            let (explanation, known) = scheduler.explain(ProjectPath.normalize(path) ?? path)
            guard known else {
                Output.error("graph", explanation)
                return .failure
            }
            try write(explanation, context)
            return .success
        }
    }

    /// `cp graph check`: parses every definition, whatever is cached.
    @Sendable static func check(_ invocation: Invocation) async throws -> ExitStatus {
        try await withProject(invocation, readsState: false, parse: true) { context in
            let (graph, components) = (context.project.graph, context.project.components)
            try write(
                "\(context.project.root): \(graph.tasks.count) tasks, \(graph.artefacts.count) artefacts, "
                    + "\(components.members.count) components (\(components.cycles.count) cyclic), \(graph.goals.count) goals; "
                    + "rules from \(context.project.ruleFiles.count) files: OK\n", context)
            return .success
        }
    }

    /// `cp graph cycles`.
    @Sendable static func cycles(_ invocation: Invocation) async throws -> ExitStatus {
        try await withProject(invocation, readsState: false) { context in
            try write(cyclesText(context.project.graph, context.project.components), context)
            return .success
        }
    }

    /// `cp graph tasks`: the tasks written in the project's files, or inferred, as a tasks file
    /// (instances of pattern rules are left out: the rules make them again).
    @Sendable static func tasks(_ invocation: Invocation) async throws -> ExitStatus {
        try await withProject(invocation, readsState: false, parse: true) { context in
            try write(tasksFile(context.project), context)
            return .success
        }
    }

    /// The text of a tasks file holding `project`'s tasks.
    static func tasksFile(_ project: Project) -> String {
        let graph = project.graph
        var text =
            project.inferred.isEmpty
            ? "# The tasks of \(project.root), as written in its files.\n"
            : "# Tasks inferred from the files of \(project.root) (cp graph tasks).\n"
                + "# Kept as tasks.tyml in the project, they are its definitions: edit them there.\n"
        text += "\ntasks:\n"
        func list(_ key: String, _ ids: [Int32]) {
            guard !ids.isEmpty else { return }
            text += "    \(key): [\(graph.paths(ids).map(yamlScalar).joined(separator: ", "))]\n"
        }
        for task in graph.tasks where !task.fromPattern {
            text += "  \(yamlScalar(task.name)):\n    rule: \(yamlScalar(task.rule))\n"
            list("dependencies", task.dependencies)
            list("secondaryDependencies", task.secondaryDependencies)
            list("outputs", task.outputs)
            if !task.mainFile.isEmpty && task.mainFile != task.dependencies.first.map({ graph.artefacts[Int($0)] }) {
                text += "    mainFile: \(yamlScalar(task.mainFile))\n"
            }
        }
        return text
    }

    /// `text` as a YAML scalar: plain when it is only ASCII letters, digits and `_./+-` (no `-` first),
    /// double-quoted (JSON's escapes, which YAML reads) otherwise.
    static func yamlScalar(_ text: String) -> String {
        let plain =
            !text.isEmpty && !text.hasPrefix("-")
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_./+-".unicodeScalars.contains($0))
            }
            && !text.hasSuffix(":")
        if plain { return text }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// `cp graph export` (and `cp graph` alone): DOT, JSON or Mermaid.
    @Sendable static func export(_ invocation: Invocation) async throws -> ExitStatus {
        try await withProject(invocation, readsState: false) { context in
            let graph = context.project.graph
            let format = GraphExport.Format(rawValue: context.settings.text("format")) ?? .dot
            try write(GraphExport.render(graph, context.project.components, as: format), context)
            if format == .dot && graph.tasks.count + graph.artefacts.count > 1000 {
                Output.error(
                    "graph",
                    "note: \(graph.tasks.count + graph.artefacts.count) nodes: 'sfdp -Tsvg' lays out large graphs far faster than 'dot'"
                )
            }
            return .success
        }
    }

    /// `text` to `--output` (atomically) or stdout.
    private static func write(_ text: String, _ context: Context) throws {
        if let output = context.settings.value("output")?.text {
            try writeAtomically(text, to: output)
        } else {
            Output.out(text)
        }
    }

    /// Each cyclic component: its tasks in pass order and the artefacts that close it.
    static func cyclesText(_ graph: BuildGraph, _ components: Components) -> String {
        let cycles = components.cycles
        guard !cycles.isEmpty else { return "no cycles\n" }
        var text = ""
        for (number, component) in cycles.enumerated() {
            let tasks = components.members[component].map {
                "\(graph.tasks[Int($0)].name) (\(graph.tasks[Int($0)].rule))"
            }
            let through = graph.paths(components.feedback(component, in: graph))
            text +=
                "cycle \(number + 1): \(tasks.joined(separator: ", ")); through \(through.joined(separator: ", "))\n"
        }
        return text
    }

    /// Writes `text` to a temporary name beside `path`, then renames it over `path`.
    static func writeAtomically(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw DefinitionError(what: "output", file: path, "cannot write it: \(error.localizedDescription)")
        }
    }
}
