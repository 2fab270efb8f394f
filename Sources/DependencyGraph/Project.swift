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
        // One walk of the project serves its definition files and its file list.
        let files = listFiles(root)
        func named(_ fileExtension: String) -> [String] {
            files.filter { ($0 as NSString).pathExtension.lowercased() == fileExtension }.map { root + "/" + $0 }
        }
        let tasks = try TaskDefinition.load(named("tyml"))
        let definitions = try ProjectDefinition.load(named("pyml"))
        let graph = try GraphBuilder.build(
            rules: rules, tasks: tasks, projects: definitions, files: files, targets: targets)
        return Project(
            root: root, rules: rules, tasks: tasks, definitions: definitions, files: files, graph: graph,
            components: Components(graph))
    }

    /// Every regular file under `root`, relative, sorted; hidden entries (`.git`, `.cp`) are
    /// skipped. `readdir` with its entry types: no `stat` per file.
    static func listFiles(_ root: String) -> [String] {
        var files: [String] = []
        var stack = [""]
        while let directory = stack.popLast() {
            guard let handle = opendir(directory.isEmpty ? root : root + "/" + directory) else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard !name.hasPrefix(".") else { continue }
                let path = directory.isEmpty ? name : directory + "/" + name
                var kind = entry.pointee.d_type
                if kind == UInt8(DT_UNKNOWN) || kind == UInt8(DT_LNK) {
                    var info = stat()
                    guard stat(root + "/" + path, &info) == 0 else { continue }
                    kind =
                        info.st_mode & S_IFMT == S_IFDIR
                        ? UInt8(DT_DIR) : info.st_mode & S_IFMT == S_IFREG ? UInt8(DT_REG) : 0
                }
                if kind == UInt8(DT_DIR) {
                    stack.append(path)
                } else if kind == UInt8(DT_REG) {
                    files.append(path)
                }
            }
        }
        return files.sorted()
    }
}
