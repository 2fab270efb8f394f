/// The hand-rolled command-line parser (by the user's request). It binds argv to an applet's
/// command specs: long options (`--name=value`, `--name value`), short options and clusters
/// (`-vq`, `-j4`, `-j 4`), `--`, repeatable options, typed values, nested verbs and option
/// words. It never prints and never exits: it returns a `ParsedCommand` or a `UsageError`.
public struct ArgumentParser {
    /// Options every applet accepts (`--help`, `--verbose`, `--config`, …).
    let globalOptions: [OptionSpec]
    /// The home directory for `~/` in paths; nil leaves `~` alone.
    let home: String?

    public init(globalOptions: [OptionSpec], home: String?) {
        self.globalOptions = globalOptions
        self.home = home
    }

    /// Parses `arguments` (without the applet's name) for the applet `root`.
    public func parse(_ arguments: [String], for root: CommandSpec) -> Result<ParsedCommand, UsageError> {
        var state = ParserState(parser: self, root: root)
        state.run(arguments)
        return state.finish()
    }

    /// The command line as a user would write it, for messages: `cp ctrl project`.
    static func displayName(_ path: [String]) -> String { (["cp"] + path).joined(separator: " ") }
}

/// One pass over one command line.
struct ParserState {
    let parser: ArgumentParser
    var result: ParsedCommand
    /// Positional tokens of the running command, checked once the verb is known.
    var words: [String] = []
    /// The first error; scanning goes on after it only to notice `--help`.
    var error: UsageError?
    var optionsEnded = false

    init(parser: ArgumentParser, root: CommandSpec) {
        self.parser = parser
        result = ParsedCommand(path: [root.name], chain: [root])
    }

    mutating func run(_ arguments: [String]) {
        var index = 0
        while index < arguments.count {
            let token = arguments[index]
            index += 1
            if optionsEnded || token == "-" || !token.hasPrefix("-") || isNegativeNumber(token) {
                if error == nil { word(token) }
            } else if token == "--" {
                optionsEnded = true
            } else if token.hasPrefix("--") {
                long(token, arguments, &index)
            } else {
                shortCluster(token, arguments, &index)
            }
        }
    }

    mutating func finish() -> Result<ParsedCommand, UsageError> {
        if result.helpRequested { return .success(result) }
        if let error { return .failure(error) }
        if !result.command.subcommands.isEmpty {
            guard let name = result.command.defaultSubcommand, let verb = result.command.subcommand(named: name)
            else { return .failure(missingVerb()) }
            descend(into: verb)
        }
        if let failure = bindPositionals() { return .failure(failure) }
        return .success(result)
    }

    // MARK: Words: verbs, option words, positionals

    private mutating func word(_ token: String) {
        let command = result.command
        if !command.subcommands.isEmpty && !optionsEnded {
            if let verb = command.subcommand(named: token) { return descend(into: verb) }
            if let optionWord = findOptionWord(token) { return setOptionWord(optionWord) }
            if let name = command.defaultSubcommand, let verb = command.subcommand(named: name),
                !verb.positionals.isEmpty
            {
                descend(into: verb)
                return word(token)
            }
            return fail(unknownVerb(token))
        }
        if words.isEmpty, !optionsEnded, let optionWord = findOptionWord(token) {
            return setOptionWord(optionWord)
        }
        words.append(token)
    }

    private mutating func descend(into verb: CommandSpec) {
        result.path.append(verb.name)
        result.chain.append(verb)
    }

    private func findOptionWord(_ token: String) -> OptionWord? {
        for command in result.chain.reversed() {
            if let found = command.optionWords.first(where: { $0.word == token }) { return found }
        }
        return nil
    }

    private mutating func setOptionWord(_ optionWord: OptionWord) {
        guard let spec = lookup(long: optionWord.option) else { return }
        store(optionWord.value, for: spec, as: "'\(optionWord.word)'")
    }

    // MARK: Options

    private mutating func long(_ token: String, _ arguments: [String], _ index: inout Int) {
        let body = token.dropFirst(2)
        let name = String(body.prefix { $0 != "=" })
        let inlineValue = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
        if name == "help" { result.helpRequested = true; return }
        guard error == nil else { return }
        guard let spec = lookup(long: name) else { return fail(unknownLong(name)) }
        guard spec.value != nil else {
            if inlineValue != nil { return fail(UsageError("option '--\(name)' takes no value")) }
            return store(nil, for: spec, as: "'--\(name)'")
        }
        if let inlineValue { return store(inlineValue, for: spec, as: "'--\(name)'") }
        guard let value = nextValue(arguments, &index) else { return fail(missingValue(spec, "--\(name)")) }
        store(value, for: spec, as: "'--\(name)'")
    }

    private mutating func shortCluster(_ token: String, _ arguments: [String], _ index: inout Int) {
        var letters = Substring(token.dropFirst())
        while let letter = letters.first {
            letters = letters.dropFirst()
            if letter == "h" { result.helpRequested = true; continue }
            guard error == nil else { continue }
            guard let spec = lookup(short: letter) else { return fail(unknownShort(letter, in: token)) }
            guard spec.value != nil else {
                store(nil, for: spec, as: "'-\(letter)'")
                continue
            }
            if !letters.isEmpty { return store(String(letters), for: spec, as: "'-\(letter)'") }
            guard let value = nextValue(arguments, &index) else { return fail(missingValue(spec, "-\(letter)")) }
            return store(value, for: spec, as: "'-\(letter)'")
        }
    }

    /// The next token as an option's value, unless it looks like another option.
    private func nextValue(_ arguments: [String], _ index: inout Int) -> String? {
        guard index < arguments.count else { return nil }
        let candidate = arguments[index]
        if candidate.hasPrefix("-") && candidate != "-" && !isNegativeNumber(candidate) { return nil }
        index += 1
        return candidate
    }

    private mutating func store(_ text: String?, for spec: OptionSpec, as shown: String) {
        guard let type = spec.value, let text else {
            result.options[spec.long, default: []].append(.flag)
            return
        }
        switch ValueParser.parse(text, as: type, home: parser.home) {
        case .success(let value):
            if spec.repeatable {
                result.options[spec.long, default: []].append(value)
            } else {
                result.options[spec.long] = [value]  // a later value overrides an earlier one
            }
        case .failure(let reason):
            let shownValue = reason.quoteValue ? "'\(text)'" : text
            fail(UsageError("invalid value \(shownValue) for \(shown): \(reason.reason)"))
        }
    }

    private func lookup(long name: String) -> OptionSpec? {
        allSpecs.first { $0.long == name }
    }

    private func lookup(short letter: Character) -> OptionSpec? {
        allSpecs.first { $0.short == letter }
    }

    /// Deepest command first, then the applet, then the global options.
    private var allSpecs: [OptionSpec] { result.optionSpecs + parser.globalOptions }

    private func isNegativeNumber(_ token: String) -> Bool {
        token.count > 1 && token.hasPrefix("-") && Double(token.dropFirst()) != nil
    }

    private mutating func fail(_ usage: UsageError) {
        if error == nil { error = usage }
    }
}
