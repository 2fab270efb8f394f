#if canImport(Glibc)
    import Glibc
#endif

/// Why a process could not be started, or did not do what was waited for.
public enum ProcessError: Error, Equatable, CustomStringConvertible {
    /// The program is not installed; `install` says how to get it.
    case missingProgram(name: String, install: String)
    /// `posix_spawn` (or a pipe for it) failed.
    case cannotStart(program: String, errno: Int32)
    /// A program given by name is on no directory of the task's PATH.
    case notFound(program: String, path: String)
    /// An empty argv.
    case emptyCommand
    /// Something did not happen in time; `log` is the end of the relevant log.
    case timeout(what: String, log: String)
    /// The process ended before it was ready.
    case exitedEarly(what: String, status: ChildExitStatus, log: String)
    /// A server answered something its protocol does not allow.
    case unexpectedReply(what: String, reply: String)

    public var description: String {
        switch self {
        case .missingProgram(let name, let install): return "\(name) not found; install it with: \(install)"
        case .cannotStart(let program, let code):
            return "cannot start '\(program)': \(String(cString: strerror(code)))"
        case .notFound(let program, let path): return "'\(program)' not found (PATH=\(path))"
        case .emptyCommand: return "the rule's build command is empty"
        case .timeout(let what, let log): return "timed out waiting for \(what)" + Self.tail(log)
        case .exitedEarly(let what, let status, let log):
            return "\(what) \(status) before it was ready" + Self.tail(log)
        case .unexpectedReply(let what, let reply): return "unexpected reply while \(what): \(reply)"
        }
    }

    private static func tail(_ log: String) -> String {
        let trimmed = log.split(separator: "\n").suffix(20).joined(separator: "\n")
        return trimmed.isEmpty ? "" : "; log tail:\n\(trimmed)"
    }
}

/// How a child process ended, decoded from a `waitpid` status.
public enum ChildExitStatus: Sendable, Equatable, CustomStringConvertible {
    /// Normal exit with this status code.
    case exited(Int32)
    /// Terminated by this signal number.
    case signaled(Int32)
    /// The child was reaped by someone else, so its status is lost.
    case unknown

    /// Decodes a raw wait status; Swift cannot import the `WIFEXITED` family of macros.
    public init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signaled(signal)
    }

    /// Shell convention: the exit code, or 128 + signal number.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        case .unknown: return 255
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "was killed by signal \(signal)"
        case .unknown: return "exited (status unknown: reaped elsewhere)"
        }
    }
}
