/// What can go wrong moving files over SFTP. `description` is one line naming the host or
/// path and the reason.
public enum SFTPError: Error, Equatable, CustomStringConvertible {
    case badAddress(String, reason: String)
    case connect(host: String, reason: String)
    /// The host's key is in no known_hosts file: refused, with how to trust it.
    case unknownHost(host: String, fingerprint: String, knownHosts: String)
    /// The host's key differs from the recorded one: always refused.
    case hostKeyChanged(host: String, fingerprint: String, knownHosts: String)
    case authentication(user: String, host: String, reason: String)
    /// A remote operation failed: what was tried, on which path, and why.
    case remote(operation: String, path: String, reason: String)
    /// A local file operation failed.
    case local(operation: String, path: String, reason: String)
    /// The connection dropped in the middle of an operation.
    case connectionLost(path: String)

    public var description: String {
        switch self {
        case .badAddress(let text, let reason): return "bad address '\(text)': \(reason)"
        case .connect(let host, let reason): return "cannot connect to \(host): \(reason)"
        case .unknownHost(let host, let fingerprint, let knownHosts):
            return "unknown host \(host) (key \(fingerprint)) refused; to trust it, run again with --accept-new, "
                + "or add it yourself with: ssh-keyscan \(Self.keyscanArguments(host)) >> \(knownHosts)"
        case .hostKeyChanged(let host, let fingerprint, let knownHosts):
            return "REFUSED: the host key of \(host) has CHANGED (now \(fingerprint)); this may be an attack. "
                + "If the change is expected, remove the old key with: ssh-keygen -R '\(host)' -f \(knownHosts)"
        case .authentication(let user, let host, let reason):
            return "cannot log in to \(host) as '\(user)': \(reason)"
        case .remote(let operation, let path, let reason): return "\(operation) '\(path)': \(reason)"
        case .local(let operation, let path, let reason): return "\(operation) '\(path)': \(reason)"
        case .connectionLost(let path): return "'\(path)': the connection was lost"
        }
    }

    /// The same error told about `path` where it named `hidden` (a put's temporary file is
    /// the user's target as far as they are concerned).
    func naming(_ path: String, insteadOf hidden: String) -> SFTPError {
        switch self {
        case .remote(let operation, hidden, let reason):
            return .remote(operation: operation, path: path, reason: reason)
        case .connectionLost(hidden): return .connectionLost(path: path)
        default: return self
        }
    }

    /// `-p PORT HOST` for `[host]:port`, `HOST` otherwise.
    private static func keyscanArguments(_ host: String) -> String {
        guard host.hasPrefix("["), let close = host.firstIndex(of: "]") else { return host }
        let name = host[host.index(after: host.startIndex)..<close]
        let port = host[close...].dropFirst(2)
        return "-p \(port) \(name)"
    }
}
