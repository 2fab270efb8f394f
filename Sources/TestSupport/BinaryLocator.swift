import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the external programs the test servers need, and says how to install a missing one.
///
/// Lookup is injectable (`searchPath`) so tests can prove that a missing program fails with
/// the install hint instead of being skipped.
public enum BinaryLocator {
    /// `$PATH` first, then the sbin directories Debian uses for daemons (`nats-server` and
    /// `sshd` live in /usr/sbin, which is not on an ordinary user's PATH).
    public static var defaultSearchPath: [String] {
        let fromEnvironment = (ProcessInfo.processInfo.environment["PATH"] ?? "")
            .split(separator: ":").map(String.init)
        var seen = Set<String>()
        return (fromEnvironment + ["/usr/sbin", "/usr/local/sbin", "/usr/bin"])
            .filter { $0.hasPrefix("/") && seen.insert($0).inserted }
    }

    /// The apt command that provides each program we run.
    public static func installCommand(for name: String) -> String {
        switch name {
        case "nats-server": return "apt-get install nats-server"
        case "sshd": return "apt-get install openssh-server openssh-sftp-server"
        case "ssh", "ssh-keygen", "sftp", "scp": return "apt-get install openssh-client"
        case "setpriv": return "apt-get install util-linux"
        case "sqlite3": return "apt-get install sqlite3"
        default: return "apt-get install <the package that provides \(name)>"
        }
    }

    /// Absolute path of an executable named `name`.
    /// - Parameter searchPath: directories to look in; `nil` means `defaultSearchPath`.
    /// - Throws: `TestServerError.missingBinary` with the install command.
    public static func locate(_ name: String, searchPath: [String]? = nil) throws -> String {
        if name.hasPrefix("/") {
            if isExecutableFile(name) { return name }
            let base = String(name.split(separator: "/").last ?? Substring(name))
            throw TestServerError.missingBinary(name: base, installCommand: installCommand(for: base))
        }
        for directory in searchPath ?? defaultSearchPath where directory.hasPrefix("/") {
            let candidate = directory.hasSuffix("/") ? directory + name : "\(directory)/\(name)"
            if isExecutableFile(candidate) { return candidate }
        }
        throw TestServerError.missingBinary(name: name, installCommand: installCommand(for: name))
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }
}
