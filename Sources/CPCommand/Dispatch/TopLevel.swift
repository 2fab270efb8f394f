import CPModel

/// What the first arguments ask of `cp` itself, before any applet runs. A pure function of
/// argv, so the hand-off rules are unit-tested without executing anything.
enum TopLevelAction: Equatable {
    /// `cp ROLE …` or a symlink name: run the applet with the remaining arguments.
    case applet(String, [String])
    /// `cp --help`, `cp -h`, `cp help`.
    case overview
    /// Bare `cp`: the overview on stderr, exit 2.
    case missingCommand
    case version
    case list
    /// `cp help ROLE`.
    case helpFor(String)
    /// `cp help WORD` for a word that is no role.
    case unknownHelpTopic(String, suggestion: String?)
    /// A lone word close to a role: "did you mean", exit 2.
    case didYouMean(String, suggestion: String)
    /// Invoked under a name that is not `cp`, with a first word that is no role.
    case unknownCommand(String, suggestion: String?)
    /// Anything else given to `cp`: coreutils' `cp` gets the whole command line.
    case handOff([String])
    /// `cp --generate-docs DIR`: write man pages and completions (used by `make docs`).
    case generateDocs(String)

    /// Decides what to do with `arguments` (without argv[0]) for a process invoked as `invokedAs`.
    static func decide(_ arguments: [String], invokedAs: String) -> TopLevelAction {
        if let applet = Applets.invokedAs(invokedAs) { return .applet(applet.name, arguments) }
        guard let first = arguments.first else { return .missingCommand }
        let roles = Applets.all.map(\.name)
        if roles.contains(first) { return .applet(first, Array(arguments.dropFirst())) }
        switch (first, arguments.count) {
        case ("--help", 1), ("-h", 1), ("help", 1): return .overview
        case ("--version", 1): return .version
        case ("--list", 1): return .list
        case ("help", 2):
            let topic = arguments[1]
            if roles.contains(topic) { return .helpFor(topic) }
            return .unknownHelpTopic(topic, suggestion: DidYouMean.closest(to: topic, among: roles))
        case ("--generate-docs", 2): return .generateDocs(arguments[1])
        default: break
        }
        let suggestion = DidYouMean.closest(to: first, among: roles + ["help"])
        guard invokedAs == "cp" else { return .unknownCommand(first, suggestion: suggestion) }
        // A lone word: coreutils would refuse it anyway (one operand), so a near-miss of a role
        // name is surely a typo of ours.
        if arguments.count == 1, !first.hasPrefix("-"), let suggestion {
            return .didYouMean(first, suggestion: suggestion)
        }
        return .handOff(arguments)
    }
}
