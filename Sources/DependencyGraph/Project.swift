import CPModel
import Foundation
import RulesManager

/// A project directory loaded for building: its definitions, its files and its graph.
public struct Project: Sendable {
    public let root: String
    public let rules: RuleBook
    public let tasks: [TaskDefinition]
    public let definitions: [ProjectDefinition]
    /// The project's files, relative to `root` (hidden directories such as `.git` and `.cp`
    /// left out).
    public let files: [String]
    public let graph: BuildGraph
    public let components: Components

    /// Loads the project in `root` with the rules under `rulePaths`; `targets` limits the
    /// goals to those targets.
    public static func load(root: String, rulePaths: [String], targets: [String] = []) throws(DefinitionError)
        -> Project
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DefinitionError(what: "project", file: root, "not a directory")
        }
        let rules = try RuleBook.load(rulePaths)
        let tasks = try TaskDefinition.load([root])
        let definitions = try ProjectDefinition.load([root])
        let files = listFiles(root)
        let graph = try GraphBuilder.build(
            rules: rules, tasks: tasks, projects: definitions, files: files, targets: targets)
        return Project(
            root: root, rules: rules, tasks: tasks, definitions: definitions, files: files, graph: graph,
            components: Components(graph))
    }

    /// Every regular file under `root`, relative, sorted; hidden entries are skipped.
    static func listFiles(_ root: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            if (relative as NSString).lastPathComponent.hasPrefix(".") {
                walker.skipDescendants()
                continue
            }
            if (walker.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { files.append(relative) }
        }
        return files.sorted()
    }
}
