/// The type of an option's or positional argument's value. The parser checks it, so a role
/// never sees a malformed duration or port.
public enum ValueType: Sendable, Equatable {
    /// Any non-empty text.
    case string
    /// A name that is one NATS subject token: ASCII letters, digits, `-` and `_`.
    case token
    /// A decimal integer within `range`.
    case integer(ClosedRange<Int>)
    /// A duration such as `200ms`, `2s`, `1m`, `1h` or `1m30s`.
    case duration
    /// `HOST:PORT` or `[IPv6]:PORT`, port 0…65535 (0: any free port).
    case hostPort
    /// An absolute URL whose scheme is one of `schemes`.
    case url(schemes: [String])
    /// A file-system path; a leading `~/` is expanded to the home directory.
    case path
    /// One of a fixed set of words.
    case choice([String])
}

/// Where a configurable option lives in `cp.yaml` and the environment (DESIGN §4).
public struct ConfigKey: Sendable, Hashable, CustomStringConvertible {
    /// The file's section, such as `watch` or `nats`.
    public let section: String
    /// The key inside the section; mirrors the long option.
    public let key: String

    public init(_ section: String, _ key: String) {
        self.section = section
        self.key = key
    }

    /// `section.key`, as written in messages.
    public var description: String { "\(section).\(key)" }

    /// The environment variable that supplies this key: `CP_SECTION_KEY`.
    public var environmentName: String {
        "CP_" + (section + "_" + key).uppercased().replacingOccurrences(of: "-", with: "_")
    }
}

/// How an option gets its `cp.yaml` and environment binding.
public enum ConfigBinding: Sendable, Equatable {
    /// Only the command line sets it (`--help`, `--config`).
    case none
    /// The applet's own section, under the long option's name.
    case appletSection
    /// A fixed section and key shared by several roles (`nats.url`).
    case key(ConfigKey)
}

/// One option an applet or verb accepts.
public struct OptionSpec: Sendable {
    /// The long name without dashes: `settle` for `--settle`.
    public let long: String
    /// The short letter, if any: `j` for `-j`.
    public let short: Character?
    /// The value's type; nil for a flag.
    public let value: ValueType?
    /// The placeholder for the value in help text (`DURATION`).
    public let metavar: String
    /// One line for `--help` and the man page.
    public let help: String
    /// Whether the option may be given more than once, collecting every value.
    public let repeatable: Bool
    /// The default as command-line text, parsed like a given value; shown in help.
    public let defaultValue: String?
    /// A default that is computed at run time, described in words (`the host name`).
    public let defaultNote: String?
    /// Where the option lives in the configuration.
    public let config: ConfigBinding

    /// A flag: present or not (repeatable flags count).
    public static func flag(
        _ long: String, short: Character? = nil, repeatable: Bool = false,
        config: ConfigBinding = .appletSection, help: String
    ) -> OptionSpec {
        OptionSpec(
            long: long, short: short, value: nil, metavar: "", help: help, repeatable: repeatable,
            defaultValue: nil, defaultNote: nil, config: config)
    }

    /// An option that takes a value.
    public static func value(
        _ long: String, short: Character? = nil, _ type: ValueType, metavar: String,
        repeatable: Bool = false, default defaultValue: String? = nil, defaultNote: String? = nil,
        config: ConfigBinding = .appletSection, help: String
    ) -> OptionSpec {
        OptionSpec(
            long: long, short: short, value: type, metavar: metavar, help: help,
            repeatable: repeatable, defaultValue: defaultValue, defaultNote: defaultNote,
            config: config)
    }

    /// `--long` as typed.
    public var dashedLong: String { "--" + long }
}

/// How many values a positional argument takes.
public enum Arity: Sendable, Equatable {
    case one, optional, zeroOrMore, oneOrMore

    var minimum: Int { self == .one || self == .oneOrMore ? 1 : 0 }
    var isVariadic: Bool { self == .zeroOrMore || self == .oneOrMore }
}

/// A positional argument: `DIR…`, `[TASK]`.
public struct PositionalSpec: Sendable {
    public let name: String
    public let type: ValueType
    public let arity: Arity
    public let help: String

    public init(_ name: String, _ type: ValueType = .string, _ arity: Arity = .one, help: String) {
        self.name = name
        self.type = type
        self.arity = arity
        self.help = help
    }

    /// The argument as written in a synopsis: `DIR`, `[DIR]`, `DIR…`, `[DIR…]`.
    public var synopsis: String {
        switch arity {
        case .one: return name
        case .optional: return "[\(name)]"
        case .zeroOrMore: return "[\(name)…]"
        case .oneOrMore: return "\(name)…"
        }
    }
}

/// A word that stands for an option value where a verb could stand, so that
/// `cp graph dot export` means `cp graph export --format dot` (DESIGN §9).
public struct OptionWord: Sendable {
    public let word: String
    public let option: String
    public let value: String

    public init(_ word: String, setting option: String, to value: String) {
        self.word = word
        self.option = option
        self.value = value
    }
}

/// A command: an applet, or one of its verbs. Verbs nest (`cp ctrl project add`).
public struct CommandSpec: Sendable {
    public let name: String
    /// One line: what the command does.
    public let summary: String
    /// Paragraphs for `--help` and the man page beyond the summary.
    public let details: String
    public let options: [OptionSpec]
    public let positionals: [PositionalSpec]
    public let subcommands: [CommandSpec]
    /// The verb used when none is given (`cp graph` exports).
    public let defaultSubcommand: String?
    public let optionWords: [OptionWord]
    /// Usage examples, each a command line and what it does.
    public let examples: [(command: String, meaning: String)]
    /// What a verb does; the dispatcher runs the deepest command of the line that has one
    /// (so verbs are dispatched from this table, git's `cmd_struct`).
    public let run: (@Sendable (Invocation) async throws -> ExitStatus)?

    public init(
        _ name: String, summary: String, details: String = "", options: [OptionSpec] = [],
        positionals: [PositionalSpec] = [], subcommands: [CommandSpec] = [],
        defaultSubcommand: String? = nil, optionWords: [OptionWord] = [],
        examples: [(command: String, meaning: String)] = [],
        run: (@Sendable (Invocation) async throws -> ExitStatus)? = nil
    ) {
        self.name = name
        self.summary = summary
        self.details = details
        self.options = options
        self.positionals = positionals
        self.subcommands = subcommands
        self.defaultSubcommand = defaultSubcommand
        self.optionWords = optionWords
        self.examples = examples
        self.run = run
    }

    /// The verb named `name`, if this command has one.
    public func subcommand(named name: String) -> CommandSpec? {
        subcommands.first { $0.name == name }
    }
}
