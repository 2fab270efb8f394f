import CPModel
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process that runs beside this one (a server, a daemon): started from the spawner
/// thread, reaped without blocking, stopped with a grace period. Waits poll `waitpid(WNOHANG)`
/// against a deadline with short sleeps, so they never block Swift's cooperative pool.
public final class Subprocess: Sendable {
    public let pid: pid_t
    public let spec: ProcessSpec
    private let status = Mutex<ChildExitStatus?>(nil)
    private let pidFile: String?

    private init(pid: pid_t, spec: ProcessSpec, pidFile: String?) {
        self.pid = pid
        self.spec = spec
        self.pidFile = pidFile
    }

    /// Starts `spec` (its executable an absolute path).
    public static func start(_ spec: ProcessSpec) async throws(ProcessError) -> Subprocess {
        guard spec.executable.hasPrefix("/") else {
            throw .missingProgram(name: spec.executable, install: Executables.installCommand(for: spec.executable))
        }
        var launched = spec
        var argv0: String?
        if spec.endsWithParent {
            launched.executable = try Executables.locate("setpriv")
            launched.arguments = ["--pdeathsig", "KILL", "--", spec.executable] + spec.arguments
            argv0 = "setpriv"
        }
        let (command, name) = (launched, argv0)
        let (pid, pidFile) = try await spawnThread.run { () throws(ProcessError) -> (pid_t, String?) in
            let pid = try spawn(command, argv0: name)  // setpriv execs the program: the pid is the program's
            LiveChildren.shared.add(pid, group: command.ownProcessGroup)
            return (pid, Self.writePidFile(pid, spec))
        }
        return Subprocess(pid: pid, spec: spec, pidFile: pidFile)
    }

    /// Pids of every child started here that has not been reaped yet (a test can check that
    /// nothing was left behind).
    public static var unreaped: [pid_t] { LiveChildren.shared.pids }

    /// True until the child has exited and been reaped.
    public var isRunning: Bool { reap() == nil }

    /// How it ended, once reaped; nil while it runs.
    public var exitStatus: ChildExitStatus? { reap() }

    /// Sends `signal` to the child (to its whole group when it leads one), unless it was
    /// reaped already: its pid may then belong to another process.
    public func send(signal: Int32) {
        status.withLock { status in
            guard status == nil else { return }
            kill(spec.ownProcessGroup ? -pid : pid, signal)
        }
    }

    /// Waits until the child exits, for at most `deadline`; `.timeout` with the end of its
    /// log (its stderr file) otherwise.
    @discardableResult
    public func waitForExit(deadline: Duration) async throws(ProcessError) -> ChildExitStatus {
        let end = ContinuousClock.now + deadline
        var interval = Duration.milliseconds(1)
        while true {
            if let status = reap() { return status }
            if ContinuousClock.now >= end {
                throw .timeout(what: "\(name) (pid \(pid)) to exit", log: logTail())
            }
            await pause(interval)
            interval = min(interval * 2, .milliseconds(10))
        }
    }

    /// Sends `signal`, waits up to `grace` for the child to exit, then SIGKILLs and reaps it.
    @discardableResult
    public func terminate(signal: Int32 = SIGTERM, grace: Duration = .seconds(10)) async -> ChildExitStatus {
        if let status = reap() { return status }
        send(signal: signal)
        if let status = try? await waitForExit(deadline: grace) { return status }
        return await kill9()
    }

    /// SIGKILLs the child and reaps it.
    @discardableResult
    public func kill9() async -> ChildExitStatus {
        send(signal: SIGKILL)
        // The kernel ends a SIGKILLed process promptly; the deadline only guards a zombie
        // someone else reaped.
        return (try? await waitForExit(deadline: .seconds(60))) ?? .unknown
    }

    /// The base name of the program, for messages.
    public var name: String { String(spec.executable.split(separator: "/").last ?? Substring(spec.executable)) }

    /// The end of the child's stderr file (and stdout's, when separate), or "".
    public func logTail(maxBytes: Int = 4096) -> String {
        var paths: [String] = []
        if case .file(let path) = spec.stderr { paths.append(path) }
        if case .file(let path) = spec.stdout, !paths.contains(path) { paths.append(path) }
        return paths.map { readTail(of: $0, maxBytes: maxBytes) }.filter { !$0.isEmpty }.joined(separator: "\n")
    }

    /// Non-blocking reap. The lock makes reaping and signalling mutually exclusive, so a
    /// signal can never hit a recycled pid.
    private func reap() -> ChildExitStatus? {
        let (result, reaped) = status.withLock { status -> (ChildExitStatus?, Bool) in
            if let status { return (status, false) }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid {
                status = ChildExitStatus(waitStatus: raw)
            } else if result == -1 && errno == ECHILD {
                status = .unknown
            } else {
                return (nil, false)
            }
            return (status, true)
        }
        if reaped { forget() }
        return result
    }

    private func forget() {
        LiveChildren.shared.remove(pid)
        if let pidFile { unlink(pidFile) }
    }

    deinit {
        guard reap() == nil else { return }
        // Nobody can wait for it any more: kill it, and reap it on a thread of its own so a
        // deinit on the cooperative pool never blocks in waitpid.
        kill(spec.ownProcessGroup ? -pid : pid, SIGKILL)
        let (pid, pidFile) = (pid, pidFile)
        let reaper = Thread {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1 && errno == EINTR {}
            LiveChildren.shared.remove(pid)
            if let pidFile { unlink(pidFile) }
        }
        reaper.name = "cp-reaper"
        reaper.start()
    }

    private static func writePidFile(_ pid: pid_t, _ spec: ProcessSpec) -> String? {
        guard let directory = spec.pidDirectory else { return nil }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/\(pid)"
        try? "\(pid)\n\(spec.commandLine)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// The children started here and not reaped yet, each with whether it leads a process group
/// of its own, so that a process ending at once (a second Ctrl-C) can take them with it.
final class LiveChildren: Sendable {
    static let shared = LiveChildren()
    private let live = Mutex<[pid_t: Bool]>([:])

    func add(_ pid: pid_t, group: Bool) { live.withLock { $0[pid] = group } }
    func remove(_ pid: pid_t) { live.withLock { _ = $0.removeValue(forKey: pid) } }
    var pids: [pid_t] { live.withLock { Array($0.keys) } }

    /// SIGKILLs every child (its whole group, when it leads one) without reaping it.
    func killAll() {
        for (pid, group) in live.withLock({ $0 }) { kill(group ? -pid : pid, SIGKILL) }
    }
}

/// SIGKILLs every child process started through ProcessRunner that is still running — the
/// servers and the build jobs, each with its process group — for a process that must end at
/// once (a second Ctrl-C) and leave nothing behind.
public func killEveryChild() { LiveChildren.shared.killAll() }

/// Sleeps for `duration` even if the current task is cancelled: stopping a child after a
/// cancellation must still wait for it, and a cancelled `Task.sleep` returns at once (a busy
/// loop), so a cancelled sleep falls back to a thread.
func pause(_ duration: Duration) async {
    if !Task.isCancelled, (try? await Task.sleep(for: duration)) != nil { return }
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let thread = Thread {
            Thread.sleep(forTimeInterval: duration.inSeconds)
            done.resume()
        }
        thread.name = "cp-pause"
        thread.start()
    }
}

/// The last `maxBytes` of a file as text ("" if it cannot be read), starting at a line
/// boundary when the cut falls mid-line.
public func readTail(of path: String, maxBytes: Int = 4096) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? handle.close() }
    guard let size = try? handle.seekToEnd() else { return "" }
    let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
    guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return "" }
    var text = String(decoding: data, as: UTF8.self)
    if start > 0, let newline = text.firstIndex(of: "\n") {
        text = String(text[text.index(after: newline)...])
    }
    return text
}
