/// man(7) pages generated from the applet table.
enum ManPage {
    private static var header: String { "\"cp \(CommandLineTool.version)\" \"ComputePods\"" }

    /// `man/cp.1`: the binary, its roles, the hand-off to coreutils, configuration, exit status.
    static func overview() -> String {
        var page = [
            comment, ".TH CP 1 \"\" \(header)", ".SH NAME",
            "cp \\- ComputePods in one binary: distributed, incremental builds with circular dependencies",
            ".SH SYNOPSIS",
            ".B cp\n.I ROLE\n.RI [ options ]\n.RI [ ARGS ...]\n.br",
            ".B cp help\n.I ROLE\n.br\n.B cp \\-\\-list\n.br\n.B cp \\-\\-version\n.br",
            ".B cp\n.IR SOURCE ... \n.I DEST",
            ".SH DESCRIPTION",
            text(
                "A distributed, incremental build coordinator for projects whose dependencies may be circular: LaTeX or ConTeXt documents that need several passes, documents that generate code whose compiled output feeds back into them. One executable holds every role; the role is chosen by the first argument, or by the name the binary is invoked under."
            ),
            ".SH ROLES",
        ]
        for applet in Applets.all {
            var summary = applet.summary
            if case .planned = applet.availability { summary += " (not available yet)" }
            page.append(".TP\n.B \(applet.name)\n" + text(summary + ". See") + "\n.BR cp\\-\(applet.name) (1).")
        }
        page += [
            ".SH INVOCATION NAMES",
            text("Installed as a symbolic link named"),
        ]
        let links = Applets.all.flatMap { applet in applet.invocationNames.map { ($0, applet.name) } }
        page.append(links.map { ".B \($0.0)\n" + text("runs cp \($0.1);") }.joined(separator: "\n"))
        page += [
            text("cp runs the role directly."),
            ".SH THE NAME CP AND COREUTILS",
            text(
                "When cp is invoked as cp and its first argument is neither a role nor --help, --version, --list or help, it hands the whole command line to the system's own cp (\(SystemCopy.candidates.joined(separator: " or ")), never itself) with execv(2), so cp -r a b still copies. A lone argument within two edits of a role's name is answered with \"did you mean\" and exit status 2 instead. The hand-off costs one extra process start of this binary; scripts that make thousands of copies should call /usr/bin/cp directly or put /usr/bin first on PATH."
            ),
            ".SH CONFIGURATION",
            text(
                "Options may also be set in cp.yaml: the file given with --config, else ./cp.yaml, else $XDG_CONFIG_HOME/computepods/cp.yaml (~/.config/computepods/cp.yaml). It has one section per role (\(ConfigSchema.shared.sections.joined(separator: ", "))) whose keys are the long options without dashes; include: names more files (a path or a list, relative to the including file) that are merged first. Merging: maps merge, lists append, scalars overwrite. Each key can also come from an environment variable CP_SECTION_KEY (CP_WATCH_SETTLE for watch.settle; a repeatable option takes a YAML list such as [a, b]). The command line wins over the file, and the file over the environment. --show-config prints every setting and its source."
            ),
            ".SH EXIT STATUS", exitStatus,
            ".SH SEE ALSO",
            Applets.all.map { ".BR cp\\-\($0.name) (1)," }.joined(separator: "\n") + "\n.BR nats\\-server (8)",
        ]
        return page.joined(separator: "\n") + "\n"
    }

    /// `man/cp-ROLE.1`.
    static func page(for applet: Applet) -> String {
        let name = applet.name
        var page = [
            comment, ".TH CP\\-\(name.uppercased()) 1 \"\" \(header)", ".SH NAME",
            "cp\\-\(name) \\- " + escape(applet.summary), ".SH SYNOPSIS",
            Documentation.commandChains(applet.command).filter { $0.last?.subcommands.isEmpty ?? true || $0.count == 1 }
                .map { synopsis($0) }.joined(separator: "\n.br\n"),
            ".SH DESCRIPTION", text(applet.command.details.isEmpty ? applet.summary + "." : applet.command.details),
        ]
        if case .planned(let issue) = applet.availability {
            page.append(
                ".PP\n"
                    + text(
                        "This role is not available yet\(issue.map { " (issue \($0))" } ?? ""): it checks its command line and configuration, then exits with status 1."
                    ))
        }
        if !applet.invocationNames.isEmpty {
            page.append(
                ".PP\n"
                    + text("Also runs when the binary is invoked as \(applet.invocationNames.joined(separator: ", ")).")
            )
        }
        let verbs = Documentation.commandChains(applet.command).dropFirst()
        if !verbs.isEmpty {
            page.append(".SH COMMANDS")
            for chain in verbs {
                let verb = chain[chain.count - 1]
                let words = chain.dropFirst().map(\.name) + verb.positionals.map(\.synopsis)
                page.append(".TP\n.B \(escape(words.joined(separator: " ")))\n" + text(verb.summary + "."))
                for spec in verb.options {
                    page.append(".RS\n" + option(spec, section: applet.configSection) + "\n.RE")
                }
            }
        }
        page.append(".SH OPTIONS")
        page += applet.command.options.map { option($0, section: applet.configSection) }
        page.append(".SS Common options")
        page += CommonOptions.global.map { option($0, section: applet.configSection) }
        page += [
            ".SH CONFIGURATION",
            text(
                "Settings come from the command line, else the \(applet.configSection): section of cp.yaml (or the nats: section for the --nats-* options), else the CP_* environment variable named beside each option, else the default. See cp(1)."
            ),
        ]
        if !applet.command.examples.isEmpty {
            page.append(".SH EXAMPLES")
            page += applet.command.examples.map { ".TP\n.B \(escape($0.command))\n" + text($0.meaning + ".") }
        }
        page += [".SH EXIT STATUS", exitStatus, ".SH SEE ALSO", ".BR cp (1)"]
        return page.joined(separator: "\n") + "\n"
    }

    private static let comment = ".\\\" Generated by 'cp --generate-docs' from the applet table; do not edit."

    private static var exitStatus: String {
        [
            ("0", "success"), ("1", "failure"), ("2", "usage error: a bad option, argument or configuration"),
            ("130", "interrupted by SIGINT or SIGTERM"),
        ]
        .map { ".TP\n.B \($0.0)\n" + text($0.1 + ".") }.joined(separator: "\n")
    }

    private static func synopsis(_ chain: [CommandSpec]) -> String {
        let words = HelpText.synopsis(chain).split(separator: " ").dropFirst()
        return ".B cp\n"
            + words.map { word in
                if word.hasPrefix("[") { return ".RI \(escape(String(word)))" }
                return word.uppercased() == word ? ".I \(escape(String(word)))" : ".B \(escape(String(word)))"
            }.joined(separator: "\n")
    }

    private static func option(_ spec: OptionSpec, section: String) -> String {
        var head = spec.short.map { "\\fB\\-\($0)\\fR, " } ?? ""
        head += "\\fB\\-\\-\(escape(spec.long))\\fR"
        if spec.value != nil { head += " \\fI\(escape(spec.metavar))\\fR" }
        var notes: [String] = []
        if let value = spec.defaultValue { notes.append("Default: '\(value)'.") }  // quoted: '.' reads as a value
        if let note = spec.defaultNote { notes.append("Default: \(note).") }
        if let key = ConfigSchema.key(of: spec, section: section) {
            notes.append("Config: \(key); environment: \(key.environmentName).")
        }
        if spec.repeatable { notes.append("Repeatable.") }
        return ".TP\n\(head)\n" + text(([spec.help + "."] + notes).joined(separator: " "))
    }

    /// A paragraph of running text, escaped, kept off a leading `.` or `'`.
    private static func text(_ words: String) -> String {
        let escaped = escape(words)
        return escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped
    }

    /// Escapes roff's specials in running text; non-ASCII becomes groff's `\[uXXXX]` so the
    /// page renders the same whatever input encoding groff assumes.
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\": result += "\\e"
            case "-": result += "\\-"
            case "…": result += "..."
            case "→": result += "\\(->"
            case "—": result += "\\(em"
            default:
                if character.isASCII {
                    result.append(character)
                } else {
                    result += character.unicodeScalars.map { "\\[u" + hex4($0.value) + "]" }.joined()
                }
            }
        }
        return result
    }
}

/// Four or more upper-case hex digits, as groff's `\[uXXXX]` wants.
private func hex4(_ value: UInt32) -> String {
    let hex = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - hex.count)) + hex
}
