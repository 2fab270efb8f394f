import ProcessRunner

/// Finds the external programs the test servers need (ProcessRunner's `Executables`), and
/// says how to install a missing one.
///
/// Lookup is injectable (`searchPath`) so tests can prove that a missing program fails with
/// the install hint instead of being skipped.
public enum BinaryLocator {
    /// `$PATH` first, then the sbin directories Debian uses for daemons.
    public static var defaultSearchPath: [String] { Executables.defaultSearchPath }

    /// The apt command that provides each program we run.
    public static func installCommand(for name: String) -> String { Executables.installCommand(for: name) }

    /// Absolute path of an executable named `name`.
    /// - Parameter searchPath: directories to look in; `nil` means `defaultSearchPath`.
    /// - Throws: `TestServerError.missingBinary` with the install command.
    public static func locate(_ name: String, searchPath: [String]? = nil) throws -> String {
        do {
            return try Executables.locate(name, searchPath: searchPath)
        } catch {
            throw TestServerError(error)
        }
    }
}
