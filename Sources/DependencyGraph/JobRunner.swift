import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one task's command (DESIGN §5, §7): the argv without a shell, in the project's
/// directory, with a clean environment, stdout and stderr captured line by line, in a process
/// group of its own that is killed whole on timeout or cancellation. Blocking: call it from a
/// thread of its own.
public enum JobRunner {
    public struct Spec: Sendable {
        public var argv: [String]
        public var directory: String
        public var environment: [String: String]
        public var timeout: Duration?

        public init(argv: [String], directory: String, environment: [String: String], timeout: Duration? = nil) {
            self.argv = argv
            self.directory = directory
            self.environment = environment
            self.timeout = timeout
        }
    }

    public struct Line: Sendable, Hashable {
        public enum Stream: Sendable { case stdout, stderr }
        public var stream: Stream
        public var text: String

        public init(stream: Stream, text: String) {
            self.stream = stream
            self.text = text
        }
    }

    public struct Outcome: Sendable {
        /// The exit status, or 128 + the signal that ended it.
        public var status: Int32
        public var timedOut: Bool
        public var cancelled: Bool
        /// The last lines of output (at most `keptLines`), both streams in arrival order.
        public var lines: [Line]
        public var succeeded: Bool { status == 0 && !timedOut && !cancelled }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case emptyCommand
        case notFound(program: String, path: String)
        case cannotStart(program: String, errno: Int32)

        public var description: String {
            switch self {
            case .emptyCommand: return "the rule's build command is empty"
            case .notFound(let program, let path): return "'\(program)' not found (PATH=\(path))"
            case .cannotStart(let program, let code):
                return "cannot start '\(program)': \(String(cString: strerror(code)))"
            }
        }
    }

    /// Cancels a running job from any thread: its whole process group is killed.
    public final class Cancellation: Sendable {
        private let pipe: (read: Int32, write: Int32)
        private let done = Atomic<Bool>(false)

        public init() {
            let fds = JobRunner.makePipe(nonBlocking: true) ?? (-1, -1)
            pipe = (fds.read, fds.write)
        }

        deinit {
            close(pipe.read)
            close(pipe.write)
        }

        public func cancel() {
            guard !done.exchange(true, ordering: .relaxed) else { return }
            var byte: UInt8 = 1
            _ = write(pipe.write, &byte, 1)
        }

        var descriptor: Int32 { pipe.read }
        public var isCancelled: Bool { done.load(ordering: .relaxed) }
    }

    public static let keptLines = 2000
    /// How long a process group has between SIGTERM and SIGKILL.
    static let killGrace: Duration = .seconds(2)

    /// The environment a task runs in: nothing inherited but PATH, HOME, USER, TMPDIR and
    /// SOURCE_DATE_EPOCH (when set), LANG=C.UTF-8, TERM=dumb, plus `extra` (CP_PROJECT_DIR,
    /// CP_TASK and CP_PASS from the executor).
    public static func cleanEnvironment(_ extra: [String: String]) -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var environment = [
            "LANG": "C.UTF-8", "TERM": "dumb", "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
        ]
        for name in ["HOME", "USER", "TMPDIR", "SOURCE_DATE_EPOCH"] { environment[name] = inherited[name] }
        environment.merge(extra) { $1 }
        return environment
    }

    /// Runs `spec` to its end; `onLine` sees each line as it comes.
    public static func run(
        _ spec: Spec, cancellation: Cancellation? = nil, onLine: ((Line) -> Void)? = nil
    ) throws(Failure) -> Outcome {
        guard let program = spec.argv.first else { throw .emptyCommand }
        let path = try resolve(program, in: spec.directory, searchPath: spec.environment["PATH"] ?? "")
        guard let stdoutPipe = makePipe(), let stderrPipe = makePipe() else {
            throw .cannotStart(program: program, errno: errno)
        }
        let out = [stdoutPipe.read, stdoutPipe.write]
        let err = [stderrPipe.read, stderrPipe.write]
        let pid: pid_t
        do {
            pid = try spawn(path: path, spec: spec, stdout: out[1], stderr: err[1])
        } catch {
            for fd in out + err { close(fd) }
            throw error
        }
        close(out[1])
        close(err[1])
        defer {
            close(out[0])
            close(err[0])
        }
        let clock = ContinuousClock()
        let deadline = spec.timeout.map { clock.now + $0 }
        var killAt: ContinuousClock.Instant?
        var timedOut = false
        var cancelled = false
        var lines: [Line] = []
        var partial: [Line.Stream: [UInt8]] = [.stdout: [], .stderr: []]
        var open: [(fd: Int32, stream: Line.Stream)] = [(out[0], .stdout), (err[0], .stderr)]
        var buffer = [UInt8](repeating: 0, count: 65536)

        func emit(_ stream: Line.Stream, _ bytes: ArraySlice<UInt8>) {
            let line = Line(stream: stream, text: String(decoding: bytes, as: UTF8.self))
            onLine?(line)
            lines.append(line)
            if lines.count > keptLines * 2 { lines.removeFirst(lines.count - keptLines) }
        }
        func terminate(_ signal: Int32) { kill(-pid, signal) }

        while !open.isEmpty {
            var descriptors = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if let cancellation {
                descriptors.append(pollfd(fd: cancellation.descriptor, events: Int16(POLLIN), revents: 0))
            }
            let now = clock.now
            let next = [deadline, killAt].compactMap { $0 }.filter { $0 > now }.min()
            let timeout = next.map { Int32(clamping: (($0 - now).nanoseconds + 999_999) / 1_000_000) } ?? -1
            let ready = poll(&descriptors, nfds_t(descriptors.count), timeout)
            if ready < 0 && errno != EINTR { break }
            if let cancellation, cancellation.isCancelled, !cancelled {
                cancelled = true
                terminate(SIGTERM)
                killAt = clock.now + killGrace
            }
            if let deadline, clock.now >= deadline, !timedOut, !cancelled {
                timedOut = true
                terminate(SIGTERM)
                killAt = clock.now + killGrace
            }
            if let due = killAt, clock.now >= due {
                terminate(SIGKILL)
                killAt = nil
            }
            for (index, entry) in open.enumerated().reversed() where descriptors[index].revents != 0 {
                let count = read(entry.fd, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else {
                    if let rest = partial[entry.stream], !rest.isEmpty { emit(entry.stream, rest[...]) }
                    open.remove(at: index)
                    continue
                }
                let pending = partial[entry.stream, default: []] + buffer[0..<count]
                var start = pending.startIndex  // each line emitted in place, the rest kept once
                while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    emit(entry.stream, pending[start..<newline])
                    start = newline + 1
                }
                partial[entry.stream] = Array(pending[start...])
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Whatever the command left behind in its group goes with it.
        kill(-pid, SIGKILL)
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        if lines.count > keptLines { lines.removeFirst(lines.count - keptLines) }
        return Outcome(status: code, timedOut: timedOut, cancelled: cancelled, lines: lines)
    }

    /// A pipe whose ends close on exec (Swift's Glibc module has no `pipe2`; the spawn's
    /// close-from action covers the moment between `pipe` and `fcntl`).
    static func makePipe(nonBlocking: Bool = false) -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if nonBlocking { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        }
        return (fds[0], fds[1])
    }

    /// The program's path: as given when it holds a '/' (relative to the task's directory),
    /// else the first executable of that name on the task's PATH.
    static func resolve(_ program: String, in directory: String, searchPath: String) throws(Failure) -> String {
        if program.contains("/") { return program.hasPrefix("/") ? program : directory + "/" + program }
        for entry in searchPath.split(separator: ":") where access(entry + "/" + program, X_OK) == 0 {
            return entry + "/" + program
        }
        throw .notFound(program: program, path: searchPath)
    }

    private typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    /// GNU extensions Swift's Glibc module does not declare (it is built without _GNU_SOURCE).
    private static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }
    private static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }

    private static func spawn(path: String, spec: Spec, stdout: Int32, stderr: Int32) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        _ = closeFrom?(&actions, 3)
        guard let addChdir, addChdir(&actions, spec.directory) == 0 else {
            throw .cannotStart(program: path, errno: ENOSYS)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setpgroup(&attributes, 0)  // a group of its own, led by the command
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let argv = spec.argv.map { strdup($0) } + [nil]
        let envp = spec.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw .cannotStart(program: spec.argv[0], errno: result) }
        return pid
    }
}
