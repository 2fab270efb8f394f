import CPModel

/// The sections and keys `cp.yaml` may hold, derived from every applet's option specs.
struct ConfigSchema: Sendable {
    /// Every configurable option by its key; the first applet declaring a key defines it.
    let options: [ConfigKey: OptionSpec]
    let sections: [String]

    static let shared = ConfigSchema(applets: Applets.all)

    init(applets: [Applet]) {
        var options: [ConfigKey: OptionSpec] = [:]
        var sections: [String] = []
        for applet in applets {
            for spec in Self.allOptions(of: applet.command) {
                guard let key = Self.key(of: spec, section: applet.configSection) else { continue }
                if options[key] == nil { options[key] = spec }
                if !sections.contains(key.section) { sections.append(key.section) }
            }
        }
        self.options = options
        self.sections = sections.sorted()
    }

    /// The key of `spec` when its applet's section is `section`; nil if it has none.
    static func key(of spec: OptionSpec, section: String) -> ConfigKey? {
        switch spec.config {
        case .none: return nil
        case .appletSection: return ConfigKey(section, spec.long)
        case .key(let key): return key
        }
    }

    /// Every option of `command` and of all its verbs.
    static func allOptions(of command: CommandSpec) -> [OptionSpec] {
        command.options + command.subcommands.flatMap { allOptions(of: $0) }
    }

    func keys(in section: String) -> [String] {
        options.keys.filter { $0.section == section }.map(\.key).sorted()
    }

    /// Checks every section, key and value of a loaded file.
    func check(_ document: YAMLValue, home: String?) throws(YAMLLoadError) {
        for section in document.entries ?? [] {
            guard sections.contains(section.key) else {
                throw unknown("section", section.key, at: section.keyLocation, among: sections)
            }
            guard case .mapping(let entries, _) = section.value else {
                if case .null = section.value { continue }
                throw YAMLLoadError(
                    what: "config", at: section.value.location,
                    "section '\(section.key)' must be a map of settings, found \(section.value.kindName)")
            }
            for entry in entries {
                let key = ConfigKey(section.key, entry.key)
                guard let spec = options[key] else {
                    throw unknown(
                        "key", "\(section.key).\(entry.key)", at: entry.keyLocation,
                        among: keys(in: section.key).map { "\(section.key).\($0)" })
                }
                _ = try Self.values(of: entry.value, for: spec, key: key, home: home)
            }
        }
    }

    /// The checked values of one setting written as `node`.
    static func values(
        of node: YAMLValue, for spec: OptionSpec, key: ConfigKey, home: String?
    ) throws(YAMLLoadError) -> [OptionValue] {
        switch node {
        case .null: return []
        case .mapping:
            throw YAMLLoadError(what: "config", at: node.location, "'\(key)' takes \(expected(spec)), not a map")
        case .sequence(let items, _):
            guard spec.repeatable else {
                throw YAMLLoadError(what: "config", at: node.location, "'\(key)' takes \(expected(spec)), not a list")
            }
            var values: [OptionValue] = []
            for item in items { values += try Self.values(of: item, for: spec, key: key, home: home) }
            return values
        case .scalar(let text, let location):
            guard let type = spec.value else { return try flag(text, key: key, at: location) }
            switch ValueParser.parse(text, as: type, home: home) {
            case .success(let value): return [value]
            case .failure(let reason):
                throw YAMLLoadError(
                    what: "config", at: location, "invalid value '\(text)' for '\(key)': \(reason.reason)")
            }
        }
    }

    private static func flag(_ text: String, key: ConfigKey, at location: SourceLocation) throws(YAMLLoadError)
        -> [OptionValue]
    {
        switch text.lowercased() {
        case "true", "yes", "on", "1": return [.flag]
        case "false", "no", "off", "0": return []
        default:
            throw YAMLLoadError(
                what: "config", at: location, "invalid value '\(text)' for '\(key)': expected true or false")
        }
    }

    private static func expected(_ spec: OptionSpec) -> String {
        guard spec.value != nil else { return "true or false" }
        return spec.repeatable ? "a \(spec.metavar) or a list of them" : "one \(spec.metavar)"
    }

    private func unknown(_ what: String, _ name: String, at location: SourceLocation, among names: [String])
        -> YAMLLoadError
    {
        if let close = DidYouMean.closest(to: name, among: names) {
            return YAMLLoadError(what: "config", at: location, "unknown \(what) '\(name)'; did you mean '\(close)'?")
        }
        let known = what == "section" ? "; known sections: " + names.joined(separator: ", ") : ""
        return YAMLLoadError(what: "config", at: location, "unknown \(what) '\(name)'\(known)")
    }
}
