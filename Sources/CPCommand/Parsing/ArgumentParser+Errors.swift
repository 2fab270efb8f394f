import CPModel

/// The parser's messages: each says what is wrong and how to fix the call.
extension ParserState {
    var here: String { ArgumentParser.displayName(result.path) }
    var helpHint: String { "see '\(here) --help'" }

    func unknownLong(_ name: String) -> UsageError {
        let names = (result.optionSpecs + parser.globalOptions).map(\.long) + ["help"]
        if let close = DidYouMean.closest(to: name, among: names) {
            return UsageError("unknown option '--\(name)'; did you mean '--\(close)'?")
        }
        if let owner = verbOwning({ $0.long == name }) {
            return UsageError(
                "option '--\(name)' belongs to '\(owner)'; put it after '\(owner.split(separator: " ").last ?? "")'")
        }
        return UsageError("unknown option '--\(name)'; \(helpHint)")
    }

    func unknownShort(_ letter: Character, in token: String) -> UsageError {
        if let owner = verbOwning({ $0.short == letter }) {
            return UsageError(
                "option '-\(letter)' belongs to '\(owner)'; put it after '\(owner.split(separator: " ").last ?? "")'")
        }
        let within = token.count > 2 ? " in '\(token)'" : ""
        return UsageError("unknown option '-\(letter)'\(within); \(helpHint)")
    }

    func missingValue(_ spec: OptionSpec, _ shown: String) -> UsageError {
        UsageError("option '\(shown)' needs a value (\(spec.metavar)), as in '\(shown) \(example(for: spec))'")
    }

    func unknownVerb(_ token: String) -> UsageError {
        let names = result.command.subcommands.map(\.name)
        if let close = DidYouMean.closest(to: token, among: names) {
            return UsageError("unknown command '\(token)' for '\(here)'; did you mean '\(close)'?")
        }
        return UsageError("unknown command '\(token)' for '\(here)'; expected one of: \(names.joined(separator: ", "))")
    }

    func missingVerb() -> UsageError {
        let names = result.command.subcommands.map(\.name).joined(separator: ", ")
        return UsageError("'\(here)' needs a command: one of \(names); \(helpHint)")
    }

    /// The verb below the running command that declares an option matching `matches`.
    private func verbOwning(_ matches: (OptionSpec) -> Bool) -> String? {
        var pending = result.command.subcommands.map { (result.path + [$0.name], $0) }
        while !pending.isEmpty {
            let (path, verb) = pending.removeFirst()
            if verb.options.contains(where: matches) { return ArgumentParser.displayName(path) }
            pending += verb.subcommands.map { (path + [$0.name], $0) }
        }
        return nil
    }

    private func example(for spec: OptionSpec) -> String {
        if let value = spec.defaultValue { return value }
        switch spec.value {
        case .integer(let range): return String(range.lowerBound)
        case .duration: return "2s"
        case .hostPort: return "127.0.0.1:8420"
        case .url(let schemes): return "\(schemes.first ?? "http")://127.0.0.1:4222"
        case .choice(let words): return words.first ?? spec.metavar
        default: return spec.metavar
        }
    }
}

/// Binding positional words to the running command's positional specs.
extension ParserState {
    /// Distributes `words` over the specs: fixed ones first, the surplus to optional ones in
    /// order, the rest to the single variadic one. Returns the error, if any.
    mutating func bindPositionals() -> UsageError? {
        let specs = result.command.positionals
        let required = specs.reduce(0) { $0 + $1.arity.minimum }
        if words.count < required {
            let missing = specs.filter { $0.arity.minimum > 0 }.map(\.synopsis).joined(separator: " ")
            return UsageError("missing \(missing) for '\(here)'; \(helpHint)")
        }
        var surplus = words.count - required
        let variadic = specs.contains { $0.arity.isVariadic }
        var counts = specs.map { $0.arity.minimum }
        for (position, spec) in specs.enumerated() where spec.arity == .optional && surplus > 0 {
            counts[position] = 1
            surplus -= 1
        }
        if let position = specs.firstIndex(where: { $0.arity.isVariadic }) {
            counts[position] += surplus
            surplus = 0
        }
        if surplus > 0 || (!variadic && words.count > counts.reduce(0, +)) {
            let extra = words[counts.reduce(0, +)]
            return UsageError("unexpected argument '\(extra)' for '\(here)'; \(helpHint)")
        }
        var next = 0
        for (position, spec) in specs.enumerated() {
            for word in words[next..<next + counts[position]] {
                switch ValueParser.parse(word, as: spec.type, home: parser.home) {
                case .success(let value): result.positionals[spec.name, default: []].append(value)
                case .failure(let reason):
                    return UsageError("invalid \(spec.name) '\(word)': \(reason.reason)")
                }
            }
            next += counts[position]
        }
        return nil
    }
}
