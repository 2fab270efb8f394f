import CPModel

/// Reads one YAML map of a definition file against the keys it may have: a key it does not
/// know, or a value of the wrong kind, is an error naming the file, line, column and key.
struct Fields {
    let entries: [YAMLEntry]
    let location: SourceLocation
    let what: String
    /// What the map is, for messages: "rule 'compile'".
    let context: String

    init(_ value: YAMLValue, what: String, context: String, allowed: [String]) throws(DefinitionError) {
        guard case .mapping(let entries, let location) = value else {
            if case .null(let location) = value {
                self.init(entries: [], location: location, what: what, context: context)
                return
            }
            throw DefinitionError(
                what: what, at: value.location, "\(context) must be a map of keys, not \(value.kindName)")
        }
        for entry in entries where !allowed.contains(entry.key) {
            throw DefinitionError(
                what: what, at: entry.keyLocation,
                "unknown key '\(entry.key)' in \(context)\(DidYouMean.phrase(for: entry.key, among: allowed)); expected one of: \(allowed.joined(separator: ", "))"
            )
        }
        self.init(entries: entries, location: location, what: what, context: context)
    }

    private init(entries: [YAMLEntry], location: SourceLocation, what: String, context: String) {
        self.entries = entries
        self.location = location
        self.what = what
        self.context = context
    }

    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    func value(_ key: String) -> YAMLValue? { entries.first { $0.key == key }?.value }

    /// A single value (a scalar); nil when absent or null.
    func string(_ key: String) throws(DefinitionError) -> Located<String>? {
        guard let value = value(key) else { return nil }
        switch value {
        case .null: return nil
        case .scalar(let text, let location): return Located(text, at: location)
        default:
            throw DefinitionError(
                what: what, at: value.location, "'\(key)' of \(context) must be a value, not \(value.kindName)")
        }
    }

    /// A list of values; one value alone is a list of one, null or absent is empty.
    func strings(_ key: String) throws(DefinitionError) -> [Located<String>] {
        guard let value = value(key) else { return [] }
        switch value {
        case .null: return []
        case .scalar(let text, let location): return [Located(text, at: location)]
        case .sequence(let items, _):
            var result: [Located<String>] = []
            for item in items {
                switch item {
                case .scalar(let text, let location): result.append(Located(text, at: location))
                case .null: continue
                default:
                    throw DefinitionError(
                        what: what, at: item.location,
                        "each entry of '\(key)' in \(context) must be a value, not \(item.kindName)")
                }
            }
            return result
        case .mapping:
            throw DefinitionError(what: what, at: value.location, "'\(key)' of \(context) must be a list, not a map")
        }
    }

    /// A list of artefact paths, each normalised and checked to stay inside the project.
    func paths(_ key: String) throws(DefinitionError) -> [Located<String>] {
        var result: [Located<String>] = []
        for text in try strings(key) { result.append(try ProjectPath.checked(text, what: what, context: context)) }
        return result
    }

    /// A map's entries; null or absent is empty.
    func mapping(_ key: String) throws(DefinitionError) -> [YAMLEntry] {
        guard let value = value(key) else { return [] }
        switch value {
        case .null: return []
        case .mapping(let entries, _): return entries
        default:
            throw DefinitionError(
                what: what, at: value.location, "'\(key)' of \(context) must be a map, not \(value.kindName)")
        }
    }

    func bool(_ key: String) throws(DefinitionError) -> Bool {
        guard let text = try string(key) else { return false }
        switch text.value.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            throw DefinitionError(
                what: what, at: text.location, "'\(key)' of \(context) must be true or false, not '\(text.value)'")
        }
    }
}
