import CPModel
import CPProtocol
import Foundation
import Hashing
import RulesManager

/// The rules a Chef offers (DESIGN §7): loaded once from its rules directories, registered
/// with the MajorDomo, and the only source of the commands it runs.
public struct ChefRules: Sendable {
    public let book: RuleBook

    public init(_ book: RuleBook) { self.book = book }

    /// Loads every `*.ryml` under `paths`; a directory that cannot be read, or holds no rule,
    /// is an error naming it.
    public static func load(_ paths: [String]) throws(DefinitionError) -> ChefRules {
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DefinitionError(what: "rules", file: path, "no such file or directory")
            }
            guard access(path, R_OK | (isDirectory.boolValue ? X_OK : 0)) == 0 else {
                throw DefinitionError(what: "rules", file: path, "cannot be read (permission denied)")
            }
        }
        let book = try RuleBook.load(paths)
        guard !book.rules.isEmpty else {
            throw DefinitionError(
                what: "rules", file: paths.joined(separator: ", "), "no rules found (no *.ryml with a 'rules:' map)")
        }
        return ChefRules(book)
    }

    /// The work queue a Chef with these rules serves when no `--kind` is given: the rules
    /// files' names and a digest of the rules' names, so Chefs that load the same rules share
    /// one queue and Chefs that offer different rules never do (`c+files+latex-1f0c2a`).
    public var derivedKind: String {
        let stems = Set(book.files.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension })
        let names = book.rules.keys.sorted().joined(separator: "\n")
        let digest = (try? SHA256Hasher.hex(of: Array(names.utf8))) ?? ""
        return stems.sorted().joined(separator: "+") + "-" + digest.prefix(6)
    }

    /// `register.types`: every type these rules know.
    public func typeRegistrations(chef: String) -> [RegisterType] {
        book.types.values.sorted { $0.name < $1.name }.map {
            RegisterType(chefName: chef, typeName: $0.name, extensions: $0.extensions, isLog: $0.isLog)
        }
    }

    /// `register.rules`: what each rule reads and writes (never its command), for `kind`.
    public func ruleRegistrations(chef: String, kind: String) -> [RegisterRule] {
        book.rules.values.sorted { $0.name < $1.name }.map { rule in
            RegisterRule(
                chefName: chef, chefKind: kind, ruleName: rule.name,
                theRule: .init(
                    dependencies: rule.dependencies.map { Self.text($0.value) },
                    secondaryDependencies: rule.secondaryDependencies.map { Self.text($0.value) },
                    outputs: rule.outputs.map { Self.text($0.value) }))
        }
    }

    /// `build.canFrom.<type>` answers to `build.howTo.<type>`: each rule that writes `type`
    /// (by name, or by a pattern `goal` matches), with what it would read.
    public func canFrom(_ request: HowTo, type: String, chef: String) -> [CanFrom] {
        book.rules.values.sorted { $0.name < $1.name }.compactMap { rule in
            // The first output that names the type or the goal, or whose pattern the goal matches.
            var stem: String?
            let writes = rule.outputs.contains { output in
                switch output.value {
                case .type(let name): return name == type
                case .path(let path): return path == request.goal
                case .pattern(let pattern):
                    stem = pattern.stem(of: request.goal)
                    return stem != nil
                }
            }
            guard writes else { return nil }
            func concrete(_ entry: RuleEntry) -> String {
                if case .pattern(let pattern) = entry, let stem { return pattern.instantiate(stem) }
                return Self.text(entry)
            }
            return CanFrom(
                canBuild: request.goal, from: rule.dependencies.map { concrete($0.value) },
                auxiliaries: rule.secondaryDependencies.map { concrete($0.value) }, chefName: chef,
                ruleName: rule.name)
        }
    }

    /// An entry as the rules file wrote it.
    static func text(_ entry: RuleEntry) -> String {
        switch entry {
        case .pattern(let pattern): return pattern.prefix + "%" + pattern.suffix
        case .type(let name): return name
        case .path(let path): return path
        }
    }
}
