import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to completion and returns its exit status and output.
///
/// Output goes through files in a private temporary directory (never pipes the test
/// process could forget to drain). A signal-terminated child reports 128 + signal.
/// - Parameters:
///   - executable: absolute path, or a bare name looked up with `BinaryLocator`.
///   - deadline: how long the program may run; it is SIGKILLed when this passes.
/// - Throws: `TestServerError.timeout` (with the stderr tail) if the program runs too long.
public func runProcess(
    _ executable: String, _ arguments: [String], deadline: Duration = .seconds(20),
    environment: [String: String]? = nil
) async throws -> (status: Int32, stdout: String, stderr: String) {
    let path = try BinaryLocator.locate(executable)
    let scratch = try TemporaryDirectory()
    defer { scratch.remove() }
    let child = try await ChildProcess.spawn(
        path, arguments, stdoutPath: scratch.file("stdout"), stderrPath: scratch.file("stderr"),
        environment: environment)
    let status: ChildExitStatus
    do {
        status = try await child.waitForExit(deadline: deadline)
    } catch {
        _ = try? await child.kill9()
        let command = ([path] + arguments).joined(separator: " ")
        throw TestServerError.timeout(what: "`\(command)` to finish", logTail: child.outputTail())
    }
    let stdout = (try? String(contentsOfFile: scratch.file("stdout"), encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOfFile: scratch.file("stderr"), encoding: .utf8)) ?? ""
    return (status.shellStatus, stdout, stderr)
}
