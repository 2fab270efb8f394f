import CPModel
import Foundation

/// A concrete, file-level step (`*.tyml`, in the project): a rule applied to named files.
public struct TaskDefinition: Sendable, Hashable {
    public var name: String
    public var rule: Located<String>?
    public var dependencies: [Located<String>]
    public var secondaryDependencies: [Located<String>]
    public var outputs: [Located<String>]
    public var mainFile: String?
    public var location: SourceLocation

    public init(
        name: String, rule: Located<String>?, dependencies: [Located<String>], secondaryDependencies: [Located<String>],
        outputs: [Located<String>], mainFile: String? = nil, location: SourceLocation
    ) {
        self.name = name
        self.rule = rule
        self.dependencies = dependencies
        self.secondaryDependencies = secondaryDependencies
        self.outputs = outputs
        self.mainFile = mainFile
        self.location = location
    }

    /// Loads every `*.tyml` under `paths`.
    public static func load(_ paths: [String]) throws(DefinitionError) -> [TaskDefinition] {
        guard let (merged, _) = try DefinitionFiles.load(paths, fileExtension: "tyml", what: "tasks") else { return [] }
        return try parse(merged)
    }

    /// Reads one (merged) tasks document.
    public static func parse(_ document: YAMLValue) throws(DefinitionError) -> [TaskDefinition] {
        let what = "tasks"
        let top = try Fields(document, what: what, context: "a tasks file", allowed: ["tasks", "description"])
        var tasks: [TaskDefinition] = []
        for entry in try top.mapping("tasks") {
            let context = "task '\(entry.key)'"
            let fields = try Fields(
                entry.value, what: what, context: context,
                allowed: [
                    "rule", "help", "description", "dependencies", "secondaryDependencies", "outputs", "mainFile",
                ])
            tasks.append(
                TaskDefinition(
                    name: entry.key, rule: try fields.string("rule"), dependencies: try fields.paths("dependencies"),
                    secondaryDependencies: try fields.paths("secondaryDependencies"),
                    outputs: try fields.paths("outputs"),
                    mainFile: try fields.string("mainFile").map { text throws(DefinitionError) in
                        try ProjectPath.checked(text, what: what, context: context).value
                    }, location: entry.keyLocation))
        }
        return tasks
    }
}
