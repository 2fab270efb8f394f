import CPModel
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a command to its end (DESIGN §5, §7): the argv without a shell, in a directory, with
/// the environment given, stdout and stderr captured line by line, in a process group of its
/// own that is killed whole on timeout or cancellation (SIGTERM, then SIGKILL after
/// `killGrace`). Blocking: call it from a thread of its own.
public enum CommandRunner {
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

        public init(status: Int32, timedOut: Bool = false, cancelled: Bool = false, lines: [Line] = []) {
            self.status = status
            self.timedOut = timedOut
            self.cancelled = cancelled
            self.lines = lines
        }
    }

    /// Cancels a running command from any thread: its whole process group is killed.
    public final class Cancellation: Sendable {
        private let pipe: (read: Int32, write: Int32)
        private let done = Atomic<Bool>(false)

        public init() {
            let fds = makePipe(nonBlocking: true) ?? (-1, -1)
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

    /// The environment a command runs in: nothing inherited but PATH, HOME, USER, TMPDIR and
    /// SOURCE_DATE_EPOCH (when set), LANG=C.UTF-8, TERM=dumb, plus `extra`.
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
    ) throws(ProcessError) -> Outcome {
        guard let program = spec.argv.first else { throw .emptyCommand }
        let path = try Executables.resolve(program, in: spec.directory, searchPath: spec.environment["PATH"] ?? "")
        guard let out = makePipe(), let err = makePipe() else { throw .cannotStart(program: program, errno: errno) }
        var process = ProcessSpec(
            path, Array(spec.argv.dropFirst()), environment: spec.environment, directory: spec.directory)
        process.stdout = .descriptor(out.write)
        process.stderr = .descriptor(err.write)
        let pid: pid_t
        do {
            pid = try spawn(process, argv0: program)
        } catch {
            for fd in [out.read, out.write, err.read, err.write] { close(fd) }
            throw error
        }
        LiveChildren.shared.add(pid, group: true)
        close(out.write)
        close(err.write)
        defer {
            close(out.read)
            close(err.read)
        }
        var capture = Capture(pid: pid, timeout: spec.timeout, onLine: onLine)
        capture.pump([(out.read, .stdout), (err.read, .stderr)], cancellation: cancellation)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // Whatever the command left behind in its group goes with it.
        kill(-pid, SIGKILL)
        LiveChildren.shared.remove(pid)
        return capture.outcome(ChildExitStatus(waitStatus: status).shellStatus)
    }

    /// The output of one running command, read until both streams end, with its timeout and
    /// cancellation.
    private struct Capture {
        let pid: pid_t
        let onLine: ((Line) -> Void)?
        let clock = ContinuousClock()
        let deadline: ContinuousClock.Instant?
        var killAt: ContinuousClock.Instant?
        var timedOut = false
        var cancelled = false
        var lines: [Line] = []
        var partial: [Line.Stream: [UInt8]] = [.stdout: [], .stderr: []]

        init(pid: pid_t, timeout: Duration?, onLine: ((Line) -> Void)?) {
            self.pid = pid
            self.onLine = onLine
            deadline = timeout.map { ContinuousClock.now + $0 }
        }

        mutating func pump(_ streams: [(fd: Int32, stream: Line.Stream)], cancellation: Cancellation?) {
            var open = streams
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !open.isEmpty {
                var descriptors = open.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
                if let cancellation {
                    descriptors.append(pollfd(fd: cancellation.descriptor, events: Int16(POLLIN), revents: 0))
                }
                let ready = poll(&descriptors, nfds_t(descriptors.count), pollTimeout())
                if ready < 0 && errno != EINTR { break }
                enforce(cancelled: cancellation?.isCancelled ?? false)
                for (index, entry) in open.enumerated().reversed() where descriptors[index].revents != 0 {
                    let count = read(entry.fd, &buffer, buffer.count)
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else {
                        if let rest = partial[entry.stream], !rest.isEmpty { emit(entry.stream, rest[...]) }
                        open.remove(at: index)
                        continue
                    }
                    split(entry.stream, buffer[0..<count])
                }
            }
        }

        /// Milliseconds until the next deadline or kill, for `poll` (-1: none).
        private func pollTimeout() -> Int32 {
            let now = clock.now
            let next = [deadline, killAt].compactMap { $0 }.filter { $0 > now }.min()
            return next.map { Int32(clamping: (($0 - now).nanoseconds + 999_999) / 1_000_000) } ?? -1
        }

        /// SIGTERM on cancellation or timeout, SIGKILL once the grace is over.
        private mutating func enforce(cancelled requested: Bool) {
            if requested, !cancelled {
                cancelled = true
                terminate(SIGTERM)
            }
            if let deadline, clock.now >= deadline, !timedOut, !cancelled {
                timedOut = true
                terminate(SIGTERM)
            }
            if let due = killAt, clock.now >= due {
                kill(-pid, SIGKILL)
                killAt = nil
            }
        }

        private mutating func terminate(_ signal: Int32) {
            kill(-pid, signal)
            killAt = clock.now + killGrace
        }

        /// Emits each whole line of `pending`'s stream in place; keeps the rest.
        private mutating func split(_ stream: Line.Stream, _ bytes: ArraySlice<UInt8>) {
            let pending = partial[stream, default: []] + bytes
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                emit(stream, pending[start..<newline])
                start = newline + 1
            }
            partial[stream] = Array(pending[start...])
        }

        private mutating func emit(_ stream: Line.Stream, _ bytes: ArraySlice<UInt8>) {
            let line = Line(stream: stream, text: String(decoding: bytes, as: UTF8.self))
            onLine?(line)
            lines.append(line)
            if lines.count > keptLines * 2 { lines.removeFirst(lines.count - keptLines) }
        }

        func outcome(_ status: Int32) -> Outcome {
            Outcome(status: status, timedOut: timedOut, cancelled: cancelled, lines: Array(lines.suffix(keptLines)))
        }
    }
}
