import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started for a test: stdin is /dev/null, stdout and stderr go to files
/// (an inherited stdout would keep a `| tee` in CI open forever), and the child cannot
/// outlive the test process (see `ChildRegistry` and `SpawnThread`).
///
/// All waits poll `waitpid(WNOHANG)` with short sleeps against a deadline, so they never
/// block Swift's cooperative thread pool.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    /// Absolute path of the program (not of the `setpriv` wrapper).
    public let executable: String
    public let arguments: [String]
    public let stdoutPath: String
    public let stderrPath: String

    private let lock = NSLock()
    private var status: ChildExitStatus?

    private init(pid: pid_t, executable: String, arguments: [String], stdoutPath: String, stderrPath: String) {
        self.pid = pid
        self.executable = executable
        self.arguments = arguments
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// Starts `executable` (an absolute path) through `setpriv --pdeathsig KILL`.
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
        let setpriv = try BinaryLocator.locate("setpriv")
        let argv = [setpriv, "--pdeathsig", "KILL", "--", executable] + arguments
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let pid = try await SpawnThread.shared.run {
            let pid = try posixSpawn(
                path: setpriv, argv: argv, envp: env, stdoutPath: stdoutPath, stderrPath: stderrPath)
            // setpriv execs the program, so this pid is the program's pid.
            ChildRegistry.shared.add(pid, commandLine: ([executable] + arguments).joined(separator: " "))
            return pid
        }
        return ChildProcess(
            pid: pid, executable: executable, arguments: arguments,
            stdoutPath: stdoutPath, stderrPath: stderrPath)
    }

    /// Pids of all children spawned by this module that have not been reaped yet.
    /// Tests can assert it is empty (or lacks a pid) to prove nothing was left behind.
    public static var unreapedPids: [pid_t] { ChildRegistry.shared.livePids }

    /// Base name of the program, for messages.
    public var name: String { String(executable.split(separator: "/").last ?? Substring(executable)) }

    /// True until the child has exited and been reaped.
    public var isRunning: Bool { reapIfExited() == nil }

    /// The exit status once the child has been reaped, else `nil`.
    public var exitStatus: ChildExitStatus? { reapIfExited() }

    /// Sends `signal` unless the child was already reaped (its pid may then belong to
    /// an unrelated process).
    public func send(signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { kill(pid, signal) }
    }

    /// Waits until the child exits, for at most `deadline` from now.
    /// - Throws: `TestServerError.timeout` with the tail of the child's stderr.
    @discardableResult
    public func waitForExit(deadline: Duration = .seconds(20)) async throws -> ChildExitStatus {
        let end = ContinuousClock.now + deadline
        while true {
            if let status = reapIfExited() { return status }
            if ContinuousClock.now >= end {
                throw TestServerError.timeout(what: "\(name) (pid \(pid)) to exit", logTail: outputTail())
            }
            await pause(.milliseconds(10))
        }
    }

    /// Sends `signal`, waits up to `grace` for the child to exit, then SIGKILLs and reaps it.
    @discardableResult
    public func terminate(signal: Int32 = SIGTERM, grace: Duration = .seconds(10)) async throws -> ChildExitStatus {
        if let status = reapIfExited() { return status }
        send(signal: signal)
        if let status = try? await waitForExit(deadline: grace) { return status }
        return try await kill9()
    }

    /// SIGKILLs the child and reaps it.
    @discardableResult
    public func kill9() async throws -> ChildExitStatus {
        send(signal: SIGKILL)
        return try await waitForExit(deadline: .seconds(20))
    }

    /// The last `maxBytes` of the child's stderr (and stdout, when it is a separate file).
    public func outputTail(maxBytes: Int = 4096) -> String {
        let stderrTail = readTail(of: stderrPath, maxBytes: maxBytes)
        guard stdoutPath != stderrPath else { return stderrTail }
        let stdoutTail = readTail(of: stdoutPath, maxBytes: maxBytes)
        return stdoutTail.isEmpty ? stderrTail : "\(stderrTail)\n[stdout]\n\(stdoutTail)"
    }

    /// Non-blocking reap. The lock makes reaping and signalling mutually exclusive, so a
    /// signal can never hit a recycled pid.
    @discardableResult
    private func reapIfExited() -> ChildExitStatus? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, WNOHANG)
        if result == pid {
            status = ChildExitStatus(waitStatus: raw)
        } else if result == -1 && errno == ECHILD {
            status = .unknown
        } else {
            return nil
        }
        ChildRegistry.shared.remove(pid)
        return status
    }

    deinit {
        guard reapIfExited() == nil else { return }
        // Nobody can wait for us any more: kill, and reap on a throwaway thread so a
        // deinit on the cooperative pool never blocks in waitpid.
        kill(pid, SIGKILL)
        let pid = pid
        let reaper = Thread {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
            ChildRegistry.shared.remove(pid)
        }
        reaper.name = "TestSupport.reaper"
        reaper.start()
    }
}

/// `posix_spawn` with stdin from /dev/null, stdout/stderr to files, every other descriptor
/// closed (a leaked pipe end would keep CI's `tee` open), and default signal dispositions
/// (the test runner may ignore signals such as SIGPIPE, and ignored signals survive exec).
private func posixSpawn(
    path: String, argv: [String], envp: [String], stdoutPath: String, stderrPath: String
) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    let outputFlags = O_WRONLY | O_CREAT | O_APPEND
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, outputFlags, 0o644)
    if stderrPath == stdoutPath {
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    } else {
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, outputFlags, 0o644)
    }
    addCloseInheritedDescriptors(&actions)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

    var pid: pid_t = 0
    let result = withCStringArray(argv) { argvPointer in
        withCStringArray(envp) { envpPointer in
            posix_spawn(&pid, path, &actions, &attributes, argvPointer, envpPointer)
        }
    }
    guard result == 0 else { throw TestServerError.spawnFailed(path: path, errno: result) }
    return pid
}

private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

/// glibc ≥ 2.34 has `posix_spawn_file_actions_addclosefrom_np`, but Swift's Glibc module is
/// compiled without `_GNU_SOURCE` and cannot see it, hence `dlsym`. Without it, close each
/// descriptor open right now (racy against other threads, but better than leaking).
private let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
    .map { unsafeBitCast($0, to: CloseFrom.self) }

private func addCloseInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    if let closeFrom, closeFrom(&actions, 3) == 0 { return }
    let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    for fd in open.compactMap({ Int32($0) }) where fd >= 3 {
        posix_spawn_file_actions_addclose(&actions, fd)
    }
}

/// Calls `body` with a NULL-terminated C array of copies of `strings`.
private func withCStringArray<R>(
    _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R
) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { buffer in
        // A non-empty array always has a base address; the fallback only satisfies the type.
        guard let base = buffer.baseAddress else { return body([nil]) }
        return body(base)
    }
}

/// The last `maxBytes` of a file as text ("" if it cannot be read), starting at a line
/// boundary when the cut falls mid-line.
public func readTail(of path: String, maxBytes: Int = 4096) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? handle.close() }
    guard let size = try? handle.seekToEnd() else { return "" }
    let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
    guard (try? handle.seek(toOffset: start)) != nil,
        let data = try? handle.readToEnd()
    else { return "" }
    var text = String(decoding: data, as: UTF8.self)
    if start > 0, let newline = text.firstIndex(of: "\n") {
        text = String(text[text.index(after: newline)...])
    }
    return text
}
