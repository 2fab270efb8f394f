import Foundation
@_exported import ProcessRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started for a test (ProcessRunner's `Subprocess`): stdin is /dev/null,
/// stdout and stderr go to files (an inherited stdout would keep a `| tee` in CI open
/// forever), it cannot outlive the test process (`endsWithParent`), and while it runs a pid
/// file in `$CP_TEST_PIDDIR` lets `scripts/run-tests` sweep it if everything else fails.
public final class ChildProcess: Sendable {
    let process: Subprocess
    public let stdoutPath: String
    public let stderrPath: String

    private init(_ process: Subprocess, stdoutPath: String, stderrPath: String) {
        self.process = process
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// Starts `executable` (an absolute path).
    /// - Parameters:
    ///   - stdoutPath: file receiving stdout (created, appended to). May equal `stderrPath`.
    ///   - stderrPath: file receiving stderr (created, appended to).
    ///   - environment: the child's environment; `nil` inherits this process's.
    public static func spawn(
        _ executable: String, _ arguments: [String],
        stdoutPath: String, stderrPath: String,
        environment: [String: String]? = nil
    ) async throws -> ChildProcess {
        guard executable.hasPrefix("/") else {
            throw TestServerError.spawnFailed(path: executable, errno: ENOENT)
        }
        var spec = ProcessSpec(executable, arguments, environment: environment)
        spec.stdout = .file(stdoutPath)
        spec.stderr = stderrPath == stdoutPath ? .stdout : .file(stderrPath)
        spec.ownProcessGroup = false
        spec.endsWithParent = true
        spec.pidDirectory = testPidDirectory
        do {
            return ChildProcess(try await Subprocess.start(spec), stdoutPath: stdoutPath, stderrPath: stderrPath)
        } catch {
            throw TestServerError(error)
        }
    }

    /// Where test children leave pid files (`scripts/run-tests` sets it).
    static var testPidDirectory: String? {
        ProcessInfo.processInfo.environment["CP_TEST_PIDDIR"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Pids of all children spawned in this process that have not been reaped yet. Tests
    /// assert it lacks a pid to prove nothing was left behind.
    public static var unreapedPids: [pid_t] { Subprocess.unreaped }

    public var pid: pid_t { process.pid }
    /// The absolute path of the program.
    public var executable: String { process.spec.executable }
    public var arguments: [String] { process.spec.arguments }
    /// The base name of the program, for messages.
    public var name: String { process.name }
    /// True until the child has exited and been reaped.
    public var isRunning: Bool { process.isRunning }
    /// The exit status once the child has been reaped, else `nil`.
    public var exitStatus: ChildExitStatus? { process.exitStatus }

    /// Sends `signal` unless the child was already reaped.
    public func send(signal: Int32) { process.send(signal: signal) }

    /// Waits until the child exits, for at most `deadline` from now.
    /// - Throws: `TestServerError.timeout` with the tail of the child's output.
    @discardableResult
    public func waitForExit(deadline: Duration = .seconds(20)) async throws -> ChildExitStatus {
        do {
            return try await process.waitForExit(deadline: deadline)
        } catch {
            throw TestServerError.timeout(what: "\(name) (pid \(pid)) to exit", logTail: outputTail())
        }
    }

    /// Sends `signal`, waits up to `grace` for the child to exit, then SIGKILLs and reaps it.
    @discardableResult
    public func terminate(signal: Int32 = SIGTERM, grace: Duration = .seconds(10)) async throws -> ChildExitStatus {
        await process.terminate(signal: signal, grace: grace)
    }

    /// SIGKILLs the child and reaps it.
    @discardableResult
    public func kill9() async throws -> ChildExitStatus { await process.kill9() }

    /// The last `maxBytes` of the child's stderr (and stdout, when it is a separate file).
    public func outputTail(maxBytes: Int = 4096) -> String {
        let stderrTail = readTail(of: stderrPath, maxBytes: maxBytes)
        guard stdoutPath != stderrPath else { return stderrTail }
        let stdoutTail = readTail(of: stdoutPath, maxBytes: maxBytes)
        return stdoutTail.isEmpty ? stderrTail : "\(stderrTail)\n[stdout]\n\(stdoutTail)"
    }
}
