import CPModel
import Foundation
import RulesManager

/// A project directory loaded for building: its definitions, its files and its graph.
public struct Project: Sendable {
    public let root: String
    /// The rules files the graph was built from.
    public let ruleFiles: [String]
    /// The project's files, relative to `root` (hidden directories such as `.git` and `.cp`
    /// left out).
    public let files: [String]
    public let graph: BuildGraph
    public let components: Components
    /// Whether the graph came from `.cp/graph.cache` rather than from parsing the definitions.
    public let fromCache: Bool
    /// The tasks inferred from the project's files, when it has no definition files
    /// (`Inference`); empty otherwise.
    public let inferred: [TaskDefinition]
    /// The project those tasks make (a target per document and program), if inferred.
    public let inferredProject: ProjectDefinition?

    /// Loads the project in `root` with the rules under `rulePaths`; `targets` limits the
    /// goals to those targets. With `useCache`, a graph cached in `.cp/graph.cache` for exactly
    /// these definitions, files and targets is used, and a newly built one is cached.
    /// `extraTasks` are tasks not in the project's files (registered by a tool that discovered
    /// them); with any, the graph cache is not used.
    public static func load(
        root: String, rulePaths: [String], targets: [String] = [], useCache: Bool = false,
        extraTasks: [TaskDefinition] = []
    ) throws(DefinitionError) -> Project {
        let useCache = useCache && extraTasks.isEmpty
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DefinitionError(what: "project", file: root, "not a directory")
        }
        // One walk of the project serves its definition files and its file list.
        let files = DefinitionFiles.listFiles(root)
        func named(_ fileExtension: String) -> [String] {
            files.filter { DefinitionFiles.has($0, extension: fileExtension) }.map { root + "/" + $0 }
        }
        let ruleFiles = try DefinitionFiles.find(rulePaths, fileExtension: "ryml", what: "rules")
        let taskFiles = named("tyml")
        let projectFiles = named("pyml")
        // No definitions: the tasks are inferred from the files (and read anew each time: they
        // depend on the files' content, which the cache's key does not hash).
        let inferred = taskFiles.isEmpty && projectFiles.isEmpty ? Inference.tasks(root: root, files: files) : []
        let inferredProject = Inference.project(root: root, tasks: inferred)
        guard !taskFiles.isEmpty || !projectFiles.isEmpty || !inferred.isEmpty else {
            throw DefinitionError(
                what: "project", file: root,
                "no tasks (*.tyml) or projects (*.pyml) in it, and no LaTeX document (a top-level .tex with "
                    + "\\documentclass) or C program (a .c defining main) to infer tasks from: is it the project's directory?"
            )
        }
        let cachePath = root + "/.cp/graph.cache"
        // Hashing every definition file is for the cache only (`check` parses regardless).
        let key =
            useCache && inferred.isEmpty
            ? GraphCache.key(
                ruleFiles: ruleFiles, definitionFiles: taskFiles + projectFiles, files: files, targets: targets) : nil
        if let key, let cached = GraphCache.read(cachePath, key: key) {
            return Project(
                root: root, ruleFiles: cached.ruleFiles, files: files, graph: cached.graph,
                components: Components(cached.graph), fromCache: true, inferred: [], inferredProject: nil)
        }
        let rules = try RuleBook.load(ruleFiles)
        let tasks = try TaskDefinition.load(taskFiles) + inferred + extraTasks
        let definitions = try ProjectDefinition.load(projectFiles) + (inferredProject.map { [$0] } ?? [])
        let graph = try GraphBuilder.build(
            rules: rules, tasks: tasks, projects: definitions, files: files, targets: targets)
        if let key { GraphCache.write(graph, ruleFiles: ruleFiles, key: key, to: cachePath) }
        return Project(
            root: root, ruleFiles: ruleFiles, files: files, graph: graph, components: Components(graph),
            fromCache: false, inferred: inferred, inferredProject: inferredProject)
    }
}
