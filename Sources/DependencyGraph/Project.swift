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
        guard !taskFiles.isEmpty || !projectFiles.isEmpty else {  // most likely the wrong directory
            throw DefinitionError(
                what: "project", file: root,
                "no tasks (*.tyml) or projects (*.pyml) in it: is it the project's directory?")
        }
        let cachePath = root + "/.cp/graph.cache"
        // Hashing every definition file is for the cache only (`check` parses regardless).
        let key =
            useCache
            ? GraphCache.key(
                ruleFiles: ruleFiles, definitionFiles: taskFiles + projectFiles, files: files, targets: targets) : nil
        if let key, let cached = GraphCache.read(cachePath, key: key) {
            return Project(
                root: root, ruleFiles: cached.ruleFiles, files: files, graph: cached.graph,
                components: Components(cached.graph), fromCache: true)
        }
        let rules = try RuleBook.load(ruleFiles)
        let tasks = try TaskDefinition.load(taskFiles) + extraTasks
        let definitions = try ProjectDefinition.load(projectFiles)
        let graph = try GraphBuilder.build(
            rules: rules, tasks: tasks, projects: definitions, files: files, targets: targets)
        if let key { GraphCache.write(graph, ruleFiles: ruleFiles, key: key, to: cachePath) }
        return Project(
            root: root, ruleFiles: ruleFiles, files: files, graph: graph, components: Components(graph),
            fromCache: false)
    }
}
