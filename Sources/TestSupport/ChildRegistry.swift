import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide list of live children, so none survives the test process.
///
/// Three layers cover the ways a test run can end: `setpriv --pdeathsig KILL` (crash or
/// SIGKILL of the test process), this registry's `atexit` handler (normal exit with servers
/// still running), and pid files in `$CP_TEST_PIDDIR` for a CI script to sweep if all else
/// fails (one file per live child, named after its pid, first line the pid).
final class ChildRegistry: @unchecked Sendable {
    static let shared: ChildRegistry = {
        let registry = ChildRegistry()
        atexit(killRegisteredChildrenAtExit)
        return registry
    }()

    private let lock = NSLock()
    private var children: [pid_t: String?] = [:]
    private let pidDirectory: String?

    private init() {
        let directory = ProcessInfo.processInfo.environment["CP_TEST_PIDDIR"] ?? ""
        pidDirectory = directory.isEmpty ? nil : directory
    }

    /// Records a freshly spawned child. Must run before anything can reap it.
    func add(_ pid: pid_t, commandLine: String) {
        let pidFile = pidDirectory.map { "\($0)/\(pid)" }
        if let pidDirectory, let pidFile {
            try? FileManager.default.createDirectory(
                atPath: pidDirectory, withIntermediateDirectories: true)
            try? "\(pid)\n\(commandLine)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        }
        lock.lock()
        children[pid] = pidFile
        lock.unlock()
    }

    /// Forgets a reaped child and deletes its pid file.
    func remove(_ pid: pid_t) {
        lock.lock()
        let entry = children.removeValue(forKey: pid)
        lock.unlock()
        if let pidFile = entry ?? nil { unlink(pidFile) }
    }

    /// Pids currently registered (for tests and diagnostics).
    var livePids: [pid_t] {
        lock.lock()
        defer { lock.unlock() }
        return Array(children.keys)
    }

    /// SIGKILLs every registered child. Does not reap: the process is exiting, and init
    /// adopts and reaps the zombies.
    func killAll() {
        lock.lock()
        let all = children
        children.removeAll()
        lock.unlock()
        for (pid, pidFile) in all {
            kill(pid, SIGKILL)
            if let pidFile { unlink(pidFile) }
        }
    }
}

private func killRegisteredChildrenAtExit() {
    ChildRegistry.shared.killAll()
}
