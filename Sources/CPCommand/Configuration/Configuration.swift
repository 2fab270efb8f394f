import CPModel
import Foundation

/// Finds, loads, checks and applies `cp.yaml` (DESIGN §4).
public struct Configuration: Sendable {
    /// The process environment (tests pass their own).
    public let environment: [String: String]
    /// Where `./cp.yaml` is looked for.
    public let workingDirectory: String
    public let home: String?

    public init(environment: [String: String], workingDirectory: String, home: String?) {
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.home = home
    }

    /// The files looked for, in order, when no `--config` is given.
    public var searchPath: [String] {
        let configHome =
            environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? home.map { $0 + "/.config" }
        return [workingDirectory + "/cp.yaml"] + (configHome.map { [$0 + "/computepods/cp.yaml"] } ?? [])
    }

    /// The file to read: `explicit` (which must exist), else the first of `searchPath` that exists.
    public func locate(explicit: String?) -> String? {
        if let explicit { return explicit }
        return searchPath.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Loads `path` with its includes and checks every section, key and value against the
    /// options of every applet, so a typo anywhere is reported, not silently ignored.
    public func load(file path: String) throws(YAMLLoadError) -> YAMLValue {
        let document = try YAMLLoader.loadWithIncludes(file: path, what: "config")
        try ConfigSchema.shared.check(document, home: home)
        return document
    }

    /// Resolves every option of `parsed`'s command for `applet`.
    public func resolve(
        _ parsed: ParsedCommand, applet: Applet, file: YAMLValue?, filePath: String?
    ) throws(ConfigurationError) -> ResolvedSettings {
        var settings: [Setting] = []
        for spec in parsed.optionSpecs + CommonOptions.global where spec.long != "help" {
            guard !settings.contains(where: { $0.option == spec.long }) else { continue }
            let key = ConfigSchema.key(of: spec, section: applet.configSection)
            settings.append(try resolve(spec, key: key, parsed: parsed, file: file))
        }
        return ResolvedSettings(settings: settings, configFile: filePath)
    }

    private func resolve(
        _ spec: OptionSpec, key: ConfigKey?, parsed: ParsedCommand, file: YAMLValue?
    ) throws(ConfigurationError) -> Setting {
        if let given = parsed.options[spec.long] {
            return Setting(option: spec.long, key: key, values: given, source: .commandLine)
        }
        if let key, let node = file?[key.section]?[key.key] {
            do {
                let values = try ConfigSchema.values(of: node, for: spec, key: key, home: home)
                return Setting(option: spec.long, key: key, values: values, source: .file(node.location))
            } catch {
                throw .file(error)
            }
        }
        if let key, let text = environment[key.environmentName] {
            let values = try environmentValues(text, for: spec, key: key)
            return Setting(option: spec.long, key: key, values: values, source: .environment(key.environmentName))
        }
        if let text = spec.defaultValue, let type = spec.value,
            case .success(let value) = ValueParser.parse(text, as: type, home: home)
        {
            return Setting(option: spec.long, key: key, values: [value], source: .defaultValue)
        }
        let source: SettingSource = spec.defaultNote.map { .computed($0) } ?? .unset
        return Setting(option: spec.long, key: key, values: [], source: source)
    }

    /// A `CP_*` variable's value: one value, or a YAML flow list (`[a, b]`) for repeatable
    /// options; `true`/`false` (or 1/0, yes/no, on/off) for flags.
    private func environmentValues(
        _ text: String, for spec: OptionSpec, key: ConfigKey
    ) throws(ConfigurationError) -> [OptionValue] {
        let name = key.environmentName
        do {
            let node = try YAMLLoader.parse(text, file: "environment \(name)", what: "config")
            let checked: YAMLValue
            if case .sequence = node, spec.repeatable {
                checked = node
            } else {
                checked = .scalar(text, node.location)
            }
            return try ConfigSchema.values(of: checked, for: spec, key: key, home: home)
        } catch {
            throw .environment(name: name, reason: error.reason)
        }
    }
}

/// A configuration that cannot be used. `description` follows `cp: <role>: `.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The file is broken: syntax, schema or a value, with file, line and column.
    case file(YAMLLoadError)
    /// A `CP_*` variable holds a value its option refuses.
    case environment(name: String, reason: String)

    public var description: String {
        switch self {
        case .file(let error): return error.description
        case .environment(let name, let reason): return "environment variable \(name): \(reason)"
        }
    }
}
