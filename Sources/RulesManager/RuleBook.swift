import CPModel
import Foundation

/// An artefact type: a name for the files whose names match its globs (`*.tex`). A type
/// with no globs stands for files with no extension (programs).
public struct ArtefactType: Sendable, Hashable {
    public var name: String
    public var extensions: [String]
    /// Streamed by the watcher, never hashed (DESIGN §8).
    public var isLog: Bool
    public var location: SourceLocation

    /// Whether the file at `path` is of this type (the globs match its last component).
    public func matches(_ path: String) -> Bool {
        let name = String(ProjectPath.name(path))
        if extensions.isEmpty { return !name.contains(".") }
        return extensions.contains { fnmatch($0, name, 0) == 0 }
    }
}

/// One entry of a rule's `dependencies`, `secondaryDependencies` or `outputs`.
public enum RuleEntry: Sendable, Hashable {
    /// A path pattern with `%`: the rule is a pattern rule.
    case pattern(PathPattern)
    /// A type's name: what a task's files must be.
    case type(String)
    /// A specific artefact.
    case path(String)
}

/// A rule (`*.ryml`): how to build outputs from inputs.
public struct Rule: Sendable, Hashable {
    public var name: String
    public var help: String
    public var dependencies: [Located<RuleEntry>]
    public var secondaryDependencies: [Located<RuleEntry>]
    public var outputs: [Located<RuleEntry>]
    public var build: ArgvTemplate
    /// How the tool reports what it really read, if it does.
    public var discover: Discovery?
    public var location: SourceLocation

    /// A pattern rule applies to every file its first dependency pattern matches.
    public var isPattern: Bool {
        dependencies.contains { if case .pattern = $0.value { true } else { false } }
    }

    /// The pattern of the first dependency, which decides where a pattern rule applies.
    public var primaryPattern: PathPattern? {
        for entry in dependencies { if case .pattern(let pattern) = entry.value { return pattern } }
        return nil
    }
}

/// The rules a Chef (or `cp graph`) knows: the merged `*.ryml` files of its rules directories.
public struct RuleBook: Sendable {
    public var types: [String: ArtefactType] = [:]
    public var rules: [String: Rule] = [:]
    /// Programs the rules need (`required:`), for messages.
    public var required: [String] = []
    public var files: [String] = []

    public init() {}

    /// Loads every `*.ryml` under `paths`.
    public static func load(_ paths: [String]) throws(DefinitionError) -> RuleBook {
        guard let (merged, files) = try DefinitionFiles.load(paths, fileExtension: "ryml", what: "rules") else {
            return RuleBook()
        }
        var book = try parse(merged)
        book.files = files
        return book
    }

    /// Reads one (merged) rules document.
    public static func parse(_ document: YAMLValue) throws(DefinitionError) -> RuleBook {
        let what = "rules"
        let top = try Fields(
            document, what: what, context: "a rules file", allowed: ["types", "rules", "required", "description"])
        var book = RuleBook()
        book.required = try top.strings("required").map(\.value)
        for entry in try top.mapping("types") {
            let fields = try Fields(
                entry.value, what: what, context: "type '\(entry.key)'",
                allowed: ["extensions", "isLog", "help", "description"])
            book.types[entry.key] = ArtefactType(
                name: entry.key, extensions: try fields.strings("extensions").map(\.value),
                isLog: try fields.bool("isLog"),
                location: entry.keyLocation)
        }
        for entry in try top.mapping("rules") {
            let context = "rule '\(entry.key)'"
            let fields = try Fields(
                entry.value, what: what, context: context,
                allowed: [
                    "help", "description", "dependencies", "secondaryDependencies", "outputs", "build", "command",
                    "discover",
                ])
            if fields.has("build") && fields.has("command") {
                throw DefinitionError(
                    what: what, at: fields.location,
                    "\(context) has both 'build' and 'command' (the same thing: keep 'build')")
            }
            let build = try ArgvTemplate(
                try fields.strings(fields.has("build") ? "build" : "command"), what: what, context: context)
            func entries(_ key: String) throws(DefinitionError) -> [Located<RuleEntry>] {
                var result: [Located<RuleEntry>] = []
                for text in try fields.strings(key) { result.append(try book.entry(text, key: key, context: context)) }
                return result
            }
            let description = try fields.string("description")?.value
            book.rules[entry.key] = Rule(
                name: entry.key, help: try fields.string("help")?.value ?? description ?? "",
                dependencies: try entries("dependencies"), secondaryDependencies: try entries("secondaryDependencies"),
                outputs: try entries("outputs"), build: build,
                discover: try fields.value("discover").map { value throws(DefinitionError) in
                    try Discovery.parse(value, context: context)
                }, location: entry.keyLocation)
        }
        return book
    }

    /// What one entry of a rule names: a pattern, a known type, or a specific path.
    private func entry(_ text: Located<String>, key: String, context: String) throws(DefinitionError) -> Located<
        RuleEntry
    > {
        let value = text.value
        if value.contains("%") {
            guard let pattern = PathPattern(value) else {
                throw DefinitionError(
                    what: "rules", at: text.location, "'\(value)' in '\(key)' of \(context) has more than one '%'")
            }
            return Located(.pattern(pattern), at: text.location)
        }
        if types[value] != nil { return Located(.type(value), at: text.location) }
        if value.contains(".") || value.contains("/") {
            let path = try ProjectPath.checked(text, what: "rules", context: context)
            return Located(.path(path.value), at: text.location)
        }
        throw DefinitionError(
            what: "rules", at: text.location,
            "unknown type '\(value)' in '\(key)' of \(context)\(DidYouMean.phrase(for: value, among: types.keys.sorted())): it is not a type, a pattern with '%' or a path"
        )
    }

    /// The type of the file at `path`: the first type (by name) whose globs match it.
    public func type(of path: String) -> ArtefactType? {
        types.values.sorted { $0.name < $1.name }.first { $0.matches(path) }
    }
}
