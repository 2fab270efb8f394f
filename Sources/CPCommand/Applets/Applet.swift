/// The exit statuses every role uses (DESIGN §10).
public enum ExitStatus: Int32, Sendable {
    case success = 0
    case failure = 1
    case usage = 2
    case interrupted = 130
}

/// What the dispatcher sets up before an applet runs (git's command flags), so no applet
/// repeats setup.
public struct AppletSetup: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Load `cp.yaml` and the `CP_*` environment and resolve every option's value.
    public static let configuration = AppletSetup(rawValue: 1 << 0)
    /// Bootstrap logging to stderr at the level `--verbose`/`--quiet` ask for.
    public static let logging = AppletSetup(rawValue: 1 << 1)
}

/// Whether an applet's run function exists yet.
public enum Availability: Sendable {
    /// The role works.
    case ready(@Sendable (Invocation) async throws -> ExitStatus)
    /// The role works, and each of its verbs runs a function of its own (`CommandSpec.run`).
    case byVerb
    /// The role's command line and configuration are specified, its work is not built yet:
    /// it says so and exits 1 (nothing pretends to work). `issue` is where it is tracked.
    case planned(issue: Int?)
}

/// One role of the busybox-style binary: its command spec, configuration section,
/// invocation names, set-up needs and run function.
public struct Applet: Sendable {
    public let command: CommandSpec
    /// The `cp.yaml` section (and `CP_<SECTION>_*` prefix) of the applet's own options.
    public let configSection: String
    /// Names that select this applet when `cp` is invoked through a symlink.
    public let invocationNames: [String]
    public let setup: AppletSetup
    public let availability: Availability

    public var name: String { command.name }
    public var summary: String { command.summary }
}

/// Everything an applet's run function gets.
public struct Invocation: Sendable {
    public let parsed: ParsedCommand
    public let settings: ResolvedSettings
}
