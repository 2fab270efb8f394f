import CPModel
import Foundation

/// A target of a project: what a user asks to build.
public struct Target: Sendable, Hashable {
    public var name: String
    public var help: String = ""
    public var dependencies: [Located<String>] = []
    public var outputs: [Located<String>] = []
    public var rule: String?
    public var worker: String?
    public var mainFile: String?
    public var srcDir: String?
    public var outputDir: String?
    public var install: String?
    public var uses: [String] = []
    public var location: SourceLocation

    public init(
        name: String, help: String = "", dependencies: [Located<String>] = [], outputs: [Located<String>] = [],
        location: SourceLocation
    ) {
        self.name = name
        self.help = help
        self.dependencies = dependencies
        self.outputs = outputs
        self.location = location
    }
}

/// A project (`*.pyml`): a name, a description, its targets and the directories it spans.
public struct ProjectDefinition: Sendable, Hashable {
    public var name: String
    public var description: String
    public var targets: [Target]
    public var directories: [String]
    public var location: SourceLocation

    public init(
        name: String, description: String, targets: [Target], directories: [String] = [], location: SourceLocation
    ) {
        self.name = name
        self.description = description
        self.targets = targets
        self.directories = directories
        self.location = location
    }

    static let targetKeys = [
        "help", "description", "dependencies", "outputs", "rule", "worker", "mainFile", "srcDir", "outputDir",
        "install", "uses", "externals", "origExternals", "projectDir",
    ]

    /// Loads every `*.pyml` under `paths`. A file in the older form (no `projects:` map: its
    /// `description` and `targets` at the top) is one project named after the file.
    public static func load(_ paths: [String]) throws(DefinitionError) -> [ProjectDefinition] {
        let files = try DefinitionFiles.find(paths, fileExtension: "pyml", what: "project")
        var wrapped: YAMLValue?
        for file in files {
            var value = try YAMLLoader.load(file: file, what: "project")
            if value["projects"] == nil, case .mapping(_, let location) = value {
                // The older form: one project, named after its file.
                let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                value = .mapping(
                    [
                        YAMLEntry(
                            key: "projects", keyLocation: location,
                            value: .mapping([YAMLEntry(key: name, keyLocation: location, value: value)], location))
                    ],
                    location)
            }
            wrapped = wrapped.map { YAMLValue.merge($0, value) } ?? value
        }
        guard let wrapped else { return [] }
        return try parse(wrapped)
    }

    /// Reads one (merged) projects document in the `projects:` form.
    public static func parse(_ document: YAMLValue) throws(DefinitionError) -> [ProjectDefinition] {
        let what = "project"
        let top = try Fields(document, what: what, context: "a project file", allowed: ["projects"])
        var projects: [ProjectDefinition] = []
        for entry in try top.mapping("projects") {
            let context = "project '\(entry.key)'"
            let fields = try Fields(
                entry.value, what: what, context: context, allowed: ["description", "help", "targets", "directories"])
            var targets: [Target] = []
            for targetEntry in try fields.mapping("targets") {
                targets.append(try target(targetEntry, project: entry.key))
            }
            projects.append(
                ProjectDefinition(
                    name: entry.key, description: try fields.string("description")?.value ?? "",
                    targets: normalize(targets), directories: try fields.strings("directories").map(\.value),
                    location: entry.keyLocation))
        }
        return projects
    }

    private static func target(_ entry: YAMLEntry, project: String) throws(DefinitionError) -> Target {
        let what = "project"
        let context = "target '\(entry.key)' of project '\(project)'"
        let fields = try Fields(entry.value, what: what, context: context, allowed: targetKeys)
        var target = Target(name: entry.key, location: entry.keyLocation)  // the rest below
        let description = try fields.string("description")?.value
        target.help = try fields.string("help")?.value ?? description ?? ""
        target.dependencies = try fields.paths("dependencies")
        target.outputs = try fields.paths("outputs")
        target.rule = try fields.string("rule")?.value
        target.worker = try fields.string("worker")?.value
        target.mainFile = try fields.string("mainFile")?.value
        target.srcDir = try fields.string("srcDir")?.value
        target.outputDir = try fields.string("outputDir")?.value
        target.install = try fields.string("install")?.value
        target.uses = try fields.strings("uses").map(\.value)
        return target
    }

    /// The originals' normalisation: `defaults` is merged into every other target (empty
    /// single values filled in, lists made ordered unions, defaults first) and removed.
    static func normalize(_ targets: [Target]) -> [Target] {
        guard let defaults = targets.first(where: { $0.name == "defaults" }) else { return targets }
        func union<T: Hashable>(_ first: [T], _ second: [T], key: (T) -> some Hashable) -> [T] {
            var seen = Set<AnyHashable>()
            return (first + second).filter { seen.insert(AnyHashable(key($0))).inserted }
        }
        return targets.filter { $0.name != "defaults" }.map { target in
            var target = target
            if target.help.isEmpty { target.help = defaults.help }
            target.srcDir = target.srcDir ?? defaults.srcDir
            target.outputDir = target.outputDir ?? defaults.outputDir
            target.mainFile = target.mainFile ?? defaults.mainFile
            target.worker = target.worker ?? defaults.worker
            target.install = target.install ?? defaults.install
            target.rule = target.rule ?? defaults.rule
            target.uses = union(defaults.uses, target.uses) { $0 }
            target.dependencies = union(defaults.dependencies, target.dependencies) { $0.value }
            target.outputs = union(defaults.outputs, target.outputs) { $0.value }
            return target
        }
    }
}
