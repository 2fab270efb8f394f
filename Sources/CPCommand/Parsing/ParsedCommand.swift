/// What the parser found on a command line, checked against the applet's specs.
public struct ParsedCommand: Sendable {
    /// The command names from the applet down: `["ctrl", "project", "add"]`.
    public var path: [String]
    /// The specs along `path`, applet first; the last one is the command that runs.
    public var chain: [CommandSpec]
    /// Values of the options given, by long name, in the order given (flags: one `.flag` each).
    public var options: [String: [OptionValue]] = [:]
    /// Values of the positional arguments, by their spec's name.
    public var positionals: [String: [OptionValue]] = [:]
    /// `-h`/`--help` appeared: show help for `path` and run nothing.
    public var helpRequested = false

    /// The command that runs.
    public var command: CommandSpec { chain[chain.count - 1] }

    /// Whether the flag `long` was given.
    public func flag(_ long: String) -> Bool { options[long] != nil }

    /// How many times the flag `long` was given (`-vv` is 2).
    public func count(_ long: String) -> Int { options[long]?.count ?? 0 }

    /// The last value given for `long` (a later `--x` overrides an earlier one).
    public func value(_ long: String) -> OptionValue? { options[long]?.last }

    /// Every value given for a repeatable option.
    public func values(_ long: String) -> [OptionValue] { options[long] ?? [] }

    /// Every value of the positional `name` (several for `FILE…`).
    public func positionalValues(_ name: String) -> [OptionValue] { positionals[name] ?? [] }

    /// The first value of the positional `name`.
    public func positional(_ name: String) -> OptionValue? { positionals[name]?.first }

    /// Every option spec in force for the running command: the deepest spec of a name wins.
    public var optionSpecs: [OptionSpec] {
        var seen = Set<String>()
        var specs: [OptionSpec] = []
        for command in chain.reversed() {
            for spec in command.options where seen.insert(spec.long).inserted { specs.append(spec) }
        }
        return specs
    }
}

/// A command line the applet cannot accept. The text says what is wrong and how to fix it;
/// the dispatcher prefixes `cp: <role>: ` and exits with status 2.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
