import Foundation
import Yams

/// Why a YAML file could not be loaded. Every case names the file and, where there is one,
/// the line and column (`description` is the text after `cp: <role>: `).
public struct YAMLLoadError: Error, Equatable, CustomStringConvertible {
    /// What kind of file it was, for the message: "config", "rules".
    public let what: String
    public let file: String
    public let line: Int?
    public let column: Int?
    public let reason: String

    public init(what: String, at location: SourceLocation, _ reason: String) {
        self.init(what: what, file: location.file, line: location.line, column: location.column, reason)
    }

    public init(what: String, file: String, line: Int? = nil, column: Int? = nil, _ reason: String) {
        self.what = what
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        var text = "\(what) '\(file)'"
        if let line { text += " line \(line)" }
        if let column { text += ", column \(column)" }
        return text + ": " + reason
    }
}

/// Reads YAML files into located `YAMLValue`s.
public enum YAMLLoader {
    /// Reads and parses the file at `path`; `what` names the kind of file in errors.
    /// An empty file is an empty mapping.
    public static func load(file path: String, what: String) throws(YAMLLoadError) -> YAMLValue {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw YAMLLoadError(what: what, file: path, "cannot read: \(readFailure(error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw YAMLLoadError(what: what, file: path, "not UTF-8 text")
        }
        return try parse(text, file: path, what: what)
    }

    /// Parses `text` as one YAML document written in `file`.
    public static func parse(_ text: String, file: String, what: String) throws(YAMLLoadError) -> YAMLValue {
        let node: Node?
        do {
            // Scalars stay text here (the loaders read them): the basic resolver skips the
            // regular expressions that guess types, a third of the parse on a large file.
            node = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw syntaxError(error, file: file, what: what)
        } catch {
            throw YAMLLoadError(what: what, file: file, "\(error)")
        }
        guard let node else { return .mapping([], SourceLocation(file: file, line: 1, column: 1)) }
        return try convert(node, file: file, what: what)
    }

    private static func convert(_ node: Node, file: String, what: String) throws(YAMLLoadError) -> YAMLValue {
        let location = SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case .scalar(let scalar):
            let isNull = scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
            return isNull ? .null(location) : .scalar(scalar.string, location)
        case .sequence(let sequence):
            var items: [YAMLValue] = []
            for item in sequence { items.append(try convert(item, file: file, what: what)) }
            return .sequence(items, location)
        case .mapping(let mapping):
            var entries: [YAMLEntry] = []
            entries.reserveCapacity(mapping.count)
            var keys = Set<String>(minimumCapacity: mapping.count)  // a tasks file's map has 50,000 keys
            for (keyNode, valueNode) in mapping {
                let keyLocation = SourceLocation(
                    file: file, line: keyNode.mark?.line ?? location.line, column: keyNode.mark?.column ?? 1)
                guard case .scalar(let key) = keyNode else {
                    throw YAMLLoadError(what: what, at: keyLocation, "a key must be a plain word, not a list or map")
                }
                guard keys.insert(key.string).inserted else {
                    throw YAMLLoadError(what: what, at: keyLocation, "duplicate key '\(key.string)'")
                }
                let value = try convert(valueNode, file: file, what: what)
                entries.append(YAMLEntry(key: key.string, keyLocation: keyLocation, value: value))
            }
            return .mapping(entries, location)
        case .alias:
            throw YAMLLoadError(what: what, at: location, "aliases are not supported")
        }
    }

    private static func syntaxError(_ error: YamlError, file: String, what: String) -> YAMLLoadError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let reason = context.map { "\(problem) (\($0.text) at line \($0.mark.line))" } ?? problem
            return YAMLLoadError(what: what, file: file, line: mark.line, column: mark.column, reason)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return YAMLLoadError(
                what: what, file: file, line: context.mark.line, column: context.mark.column,
                "duplicate key \(keys) in this map")
        case .reader(let problem, let offset, _, _):
            return YAMLLoadError(what: what, file: file, offset.map { "\(problem) at byte \($0)" } ?? problem)
        default:
            return YAMLLoadError(what: what, file: file, "\(error)")
        }
    }

    private static func readFailure(_ error: Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain && nsError.code == NSFileReadNoSuchFileError {
            return "no such file"
        }
        return nsError.localizedDescription
    }
}
