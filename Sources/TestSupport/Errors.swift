import Foundation

/// Every failure TestSupport reports. Each case names the condition, and `description`
/// reads as a sentence so a failing test explains itself without a debugger.
public enum TestServerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A required program is not installed; the message tells how to install it.
    case missingBinary(name: String, installCommand: String)
    /// Something did not happen before its deadline. `logTail` is the end of the relevant log.
    case timeout(what: String, logTail: String)
    /// `posix_spawn` refused to start `path`.
    case spawnFailed(path: String, errno: Int32)
    /// A child exited while we were still waiting for it to become ready.
    case exitedEarly(what: String, status: ChildExitStatus, logTail: String)
    /// A helper command (e.g. ssh-keygen) ran but failed.
    case commandFailed(command: String, status: ChildExitStatus, stderr: String)
    /// A system call failed in a way the caller cannot work around.
    case systemCall(call: String, errno: Int32)
    /// nats-server's ports file did not contain a usable client URL.
    case invalidPortsFile(path: String, contents: String)
    /// A peer answered something other than what the protocol requires.
    case unexpectedReply(what: String, reply: String)
    /// The peer closed the connection before the expected reply.
    case connectionClosed(what: String)
    /// Starting a server failed on every attempt; the last log explains the last failure.
    case retriesExhausted(what: String, attempts: Int, logTail: String)

    public var description: String {
        switch self {
        case let .missingBinary(name, installCommand):
            return "\(name) not found; install it with: \(installCommand)"
        case let .timeout(what, logTail):
            return "timed out waiting for \(what)" + Self.tail(logTail)
        case let .spawnFailed(path, code):
            return "could not spawn \(path): \(Self.errnoText(code))"
        case let .exitedEarly(what, status, logTail):
            return "\(what): process \(status) before it was ready" + Self.tail(logTail)
        case let .commandFailed(command, status, stderr):
            return "`\(command)` \(status)" + Self.tail(stderr)
        case let .systemCall(call, code):
            return "\(call) failed: \(Self.errnoText(code))"
        case let .invalidPortsFile(path, contents):
            return "no nats:// URL in ports file \(path): \(contents)"
        case let .unexpectedReply(what, reply):
            return "unexpected reply while \(what): \(reply)"
        case let .connectionClosed(what):
            return "connection closed by peer while \(what)"
        case let .retriesExhausted(what, attempts, logTail):
            return "\(what) failed after \(attempts) attempts" + Self.tail(logTail)
        }
    }

    static func errnoText(_ code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }

    /// A ProcessRunner error in the terms tests use.
    init(_ error: ProcessError) {
        switch error {
        case .missingProgram(let name, let install): self = .missingBinary(name: name, installCommand: install)
        case .cannotStart(let program, let code): self = .spawnFailed(path: program, errno: code)
        case .timeout(let what, let log): self = .timeout(what: what, logTail: log)
        case .exitedEarly(let what, let status, let log): self = .exitedEarly(what: what, status: status, logTail: log)
        case .unexpectedReply(let what, let reply): self = .unexpectedReply(what: what, reply: reply)
        case .notFound, .emptyCommand: self = .unexpectedReply(what: "starting a process", reply: "\(error)")
        }
    }

    private static func tail(_ log: String) -> String {
        let trimmed = log.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? " (log is empty)" : "; log tail:\n\(trimmed)"
    }
}
