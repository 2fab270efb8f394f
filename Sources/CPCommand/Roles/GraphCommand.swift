import CPModel
import DependencyGraph
import Foundation
import RulesManager

/// `cp graph`: a project's dependency graph, offline (DESIGN §5, §9): `check` loads and
/// validates it, `export` writes it as DOT, JSON or Mermaid, `cycles` lists its cyclic
/// components, `plan` and `why` say what a build would do, `build` does it (`GraphBuild`).
enum GraphCommand {
    @Sendable static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let settings = invocation.settings
        let verb = invocation.parsed.path.count > 1 ? invocation.parsed.path[1] : "export"
        let root = settings.value("project")?.text ?? "."
        let rulePaths = settings.values("rules").compactMap(\.text)
        let targets =
            invocation.parsed.positionalValues("TARGET").compactMap(\.text)
            + settings.values("target").compactMap(\.text)
        let state = GraphBuild.State(root: root, readAhead: ["plan", "why", "build"].contains(verb))
        defer { state.finish() }
        let project: Project
        do {
            // `check` always reads the definitions; the other commands may use the cached graph.
            project = try Project.load(
                root: root, rulePaths: try resolveRules(rulePaths), targets: targets, useCache: verb != "check")
        } catch {
            Output.error("graph", "\(error)")
            return .failure
        }
        ProcessLifetime.keepUntilExit(project, state)
        let graph = project.graph
        let components = project.components
        let maxPasses = settings.value("max-passes")?.integer ?? 5
        var text: String
        var afterwards: String?  // a line for stderr once the output is written
        switch verb {
        case "build":
            return try await GraphBuild.build(project, state, invocation: invocation)
        case "plan":
            let plan = try GraphBuild.plan(project, state, maxPasses: maxPasses)
            text = plan.text
            afterwards = plan.counts
        case "why":
            let path = invocation.parsed.positional("PATH")?.text ?? ""
            let (explanation, known) = try GraphBuild.why(
                ProjectPath.normalize(path) ?? path, project, state, maxPasses: maxPasses)
            guard known else {
                Output.error("graph", explanation)
                return .failure
            }
            text = explanation
        case "check":
            let cycles = components.cycles.count
            text =
                "\(root): \(graph.tasks.count) tasks, \(graph.artefacts.count) artefacts, \(components.members.count) components"
                + " (\(cycles) cyclic), \(graph.goals.count) goals; rules from \(project.ruleFiles.count) files: OK\n"
        case "cycles":
            text = cyclesText(graph, components)
        default:
            let format = GraphExport.Format(rawValue: settings.value("format")?.text ?? "dot") ?? .dot
            text = GraphExport.render(graph, components, as: format)
            if format == .dot && graph.tasks.count + graph.artefacts.count > 1000 {
                Output.error(
                    "graph",
                    "note: \(graph.tasks.count + graph.artefacts.count) nodes: 'sfdp -Tsvg' lays out large graphs far faster than 'dot'"
                )
            }
        }
        if let output = settings.value("output")?.text {
            try writeAtomically(text, to: output)
        } else {
            Output.out(text)
        }
        if let afterwards { Output.error("graph", afterwards) }
        return .success
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

    /// The rules to load: those given, else the bundled ones (installed next to the binary in
    /// `../share/cp/rules`, or `rules/` of the source tree it was built in).
    static func resolveRules(_ given: [String]) throws -> [String] {
        if !given.isEmpty { return given }
        if let bundled = bundledRules() { return [bundled] }
        throw DefinitionError(
            what: "rules", file: "--rules",
            "none given, and no bundled rules next to cp (share/cp/rules): give --rules DIR")
    }

    static func bundledRules() -> String? {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (executable as NSString).deletingLastPathComponent
        var candidates: [String] = []
        for _ in 0..<4 {
            candidates.append(directory + "/share/cp/rules")
            candidates.append(directory + "/rules")
            directory = (directory as NSString).deletingLastPathComponent
        }
        return candidates.first { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) && isDirectory.boolValue
                && FileManager.default.fileExists(atPath: candidate + "/latex.ryml")
        }
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
