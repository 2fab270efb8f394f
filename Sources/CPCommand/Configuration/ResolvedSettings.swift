import CPModel

/// Where a setting's value came from.
public enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    case commandLine
    case file(SourceLocation)
    case environment(String)
    case defaultValue
    /// No value: the role computes one at run time (the note says how).
    case computed(String)
    /// No value and no default: the setting is off or empty.
    case unset

    public var description: String {
        switch self {
        case .commandLine: return "command line"
        case .file(let location): return "config \(location)"
        case .environment(let name): return "environment \(name)"
        case .defaultValue: return "default"
        case .computed(let note): return "default: \(note)"
        case .unset: return "not set"
        }
    }
}

/// One option's resolved value(s) and their source.
public struct Setting: Sendable, Equatable {
    /// The option's long name.
    public let option: String
    /// Its place in `cp.yaml`; nil for command-line-only options.
    public let key: ConfigKey?
    /// The values (one for most options, several for repeatable ones, `.flag` for a set flag).
    public let values: [OptionValue]
    public let source: SettingSource
}

/// The value of every option in force for a command, after applying the precedence
/// command line > configuration file > `CP_*` environment > default (DESIGN §4).
public struct ResolvedSettings: Sendable {
    /// In the order the options are declared.
    public let settings: [Setting]
    /// The configuration file that was read, if any.
    public let configFile: String?

    public init(settings: [Setting], configFile: String?) {
        self.settings = settings
        self.configFile = configFile
    }

    public func setting(_ option: String) -> Setting? { settings.first { $0.option == option } }

    /// The value of a single-valued option.
    public func value(_ option: String) -> OptionValue? { setting(option)?.values.last }

    /// Every value of a repeatable option.
    public func values(_ option: String) -> [OptionValue] { setting(option)?.values ?? [] }

    /// Whether a flag is set.
    public func flag(_ option: String) -> Bool { !(setting(option)?.values.isEmpty ?? true) }

    /// The value of an option whose default the applet table declares, so that the default is
    /// written once, there. An option without one is a mistake in the table, caught by
    /// `everyDeclaredDefaultResolvesToItsType`, not by a user.
    public func defaulted(_ option: String) -> OptionValue {
        guard let value = value(option) else {
            preconditionFailure("option '--\(option)' has no default in the applet table")
        }
        return value
    }

    /// A defaulted integer option's value.
    public func integer(_ option: String) -> Int {
        guard let number = defaulted(option).integer else { preconditionFailure("option '--\(option)' is no integer") }
        return number
    }

    /// A defaulted duration option's value.
    public func duration(_ option: String) -> Duration {
        guard let duration = defaulted(option).duration else {
            preconditionFailure("option '--\(option)' is no duration")
        }
        return duration
    }

    /// A defaulted text, path or choice option's value.
    public func text(_ option: String) -> String {
        guard let text = defaulted(option).text else { preconditionFailure("option '--\(option)' is no text") }
        return text
    }
}
