/// What to start: a program, its arguments, environment and directory, where its output goes,
/// and how its life is tied to this process.
public struct ProcessSpec: Sendable {
    /// Where a standard stream goes.
    public enum Output: Sendable, Equatable {
        /// `/dev/null`.
        case discard
        /// Appended to this file (created 0644 if missing).
        case file(String)
        /// A descriptor of this process (a pipe's write end), duplicated into the child.
        case descriptor(Int32)
        /// Wherever stdout goes (only for stderr).
        case stdout
    }

    /// An absolute path (`Executables.locate` finds one).
    public var executable: String
    /// The arguments after the program's name.
    public var arguments: [String]
    /// The whole environment; nil inherits this process's.
    public var environment: [String: String]?
    /// The working directory; nil keeps this process's.
    public var directory: String?
    public var stdout: Output = .discard
    public var stderr: Output = .discard
    /// Lead a process group of its own, so the whole group can be signalled (a job and
    /// everything it started) and a terminal's Ctrl-C reaches only this process.
    public var ownProcessGroup = true
    /// SIGKILL the child when this process dies, however it dies (`setpriv --pdeathsig`;
    /// the kernel sends it when the spawning thread ends, so children are spawned from one
    /// thread that lives as long as the process).
    public var endsWithParent = false
    /// A file named after the child's pid is kept here while it runs (first line the pid,
    /// then the command line), so a supervisor can sweep what a crash left behind.
    public var pidDirectory: String?

    public init(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        directory: String? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
    }

    /// The command line, for messages.
    public var commandLine: String { ([executable] + arguments).joined(separator: " ") }
}
