/// `--help` text, generated from the applet table and option specs (STYLE: usage text sits
/// beside the option declarations and help is generated from them).
enum HelpText {
    /// The synopsis of the command at `path` (`["ctrl", "project", "add"]`).
    static func synopsis(_ chain: [CommandSpec]) -> String {
        let command = chain[chain.count - 1]
        var words = ["cp"] + chain.map(\.name)
        if !command.optionWords.isEmpty {
            words.append("[" + command.optionWords.map(\.word).joined(separator: "|") + "]")
        }
        if !command.subcommands.isEmpty {
            words.append(command.defaultSubcommand == nil ? "COMMAND" : "[COMMAND]")
        }
        words.append("[options]")
        words += command.positionals.map(\.synopsis)
        return words.joined(separator: " ")
    }

    /// The help for the command `chain` leads to, as `cp ROLE … --help` prints it.
    static func render(_ chain: [CommandSpec], applet: Applet) -> String {
        let command = chain[chain.count - 1]
        var sections = ["usage: " + synopsis(chain), TextLayout.wrap(capitalized(command.summary) + ".")]
        if !command.details.isEmpty { sections.append(TextLayout.wrap(command.details)) }
        if case .planned(let issue) = applet.availability {
            let tracked = issue.map { " (issue \($0))" } ?? ""
            sections.append("This role is not available yet\(tracked); see the README's roadmap.")
        }
        let verbs = verbRows(command, prefix: [])
        if !verbs.isEmpty { sections.append("Commands:\n" + TextLayout.columns(verbs)) }
        if !command.positionals.isEmpty {
            let rows = command.positionals.map { ($0.name, $0.help) }
            sections.append("Arguments:\n" + TextLayout.columns(rows))
        }
        let own = ParsedCommand(path: chain.map(\.name), chain: chain).optionSpecs
        if !own.isEmpty {
            sections.append("Options:\n" + TextLayout.columns(own.map { optionRow($0, section: applet.configSection) }))
        }
        sections.append(
            "Common options:\n"
                + TextLayout.columns(CommonOptions.global.map { optionRow($0, section: applet.configSection) }))
        if chain.count == 1, !ConfigSchema.allOptions(of: command).filter({ $0.config != .none }).isEmpty {
            sections.append(
                TextLayout.wrap(
                    "Settings also come from the '\(applet.configSection):' section of cp.yaml and from CP_* "
                        + "environment variables (shown beside each option); the command line wins over the "
                        + "file, the file over the environment."))
        }
        if !command.examples.isEmpty {
            let rows = command.examples.map { "  \($0.command)\n" + TextLayout.wrap($0.meaning, indent: 6) }
            sections.append("Examples:\n" + rows.joined(separator: "\n"))
        }
        return sections.joined(separator: "\n\n") + "\n"
    }

    /// `cp --help`: what cp is, its roles, the hand-off and the exit codes.
    static func overview() -> String {
        let roles = Applets.all.map { applet -> (String, String) in
            if case .planned = applet.availability { return (applet.name, applet.summary + " (not available yet)") }
            return (applet.name, applet.summary)
        }
        return """
            usage: cp ROLE [options] [ARGS…]
                   cp help ROLE | cp --list | cp --version
                   cp SOURCE… DEST   (anything else goes to the system's cp)

            \(TextLayout.wrap("ComputePods in one binary: a distributed, incremental build coordinator for projects whose dependencies may be circular."))

            Roles:
            \(TextLayout.columns(roles))

            Run 'cp help ROLE' or 'cp ROLE --help' for a role's commands and options.

            \(TextLayout.wrap("A command line that names no role is handed, whole, to the system's own cp (\(SystemCopy.candidates.joined(separator: " or "))), so 'cp -r a b' still copies. A lone word close to a role's name is taken for a typo instead."))

            Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted.

            """
    }

    static func optionRow(_ spec: OptionSpec, section: String) -> (String, String) {
        var term = spec.short.map { "-\($0), " } ?? "    "
        term += spec.dashedLong + (spec.value == nil ? "" : " " + spec.metavar)
        var notes: [String] = spec.repeatable ? ["repeatable"] : []
        if let value = spec.defaultValue { notes.append("default \(value)") }
        if let note = spec.defaultNote { notes.append("default: \(note)") }
        if let key = ConfigSchema.key(of: spec, section: section) { notes.append("env " + key.environmentName) }
        let suffix = notes.isEmpty ? "" : " [" + notes.joined(separator: "; ") + "]"
        return (term, spec.help + suffix)
    }

    /// `verb ARGS  summary` for every verb below `command`, nested ones spelled out in full.
    static func verbRows(_ command: CommandSpec, prefix: [String]) -> [(String, String)] {
        command.subcommands.flatMap { verb -> [(String, String)] in
            let words = prefix + [verb.name]
            if !verb.subcommands.isEmpty { return verbRows(verb, prefix: words) }
            let term = (words + verb.positionals.map(\.synopsis)).joined(separator: " ")
            let note = command.defaultSubcommand == verb.name ? " (the default)" : ""
            return [(term, verb.summary + note)]
        }
    }

    private static func capitalized(_ text: String) -> String {
        text.prefix(1).uppercased() + text.dropFirst()
    }
}
