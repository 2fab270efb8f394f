import CPProtocol
import Foundation
import Logging
import Synchronization

/// The watcher as a library (DESIGN §8): give it roots, read `changes`. The engine runs on a
/// thread of its own; everything here may be called from any task.
public final class FileWatcher: Sendable {
    public struct Options: Sendable {
        /// Report a file once it has been quiet this long.
        public var settle: Duration = .milliseconds(200)
        /// Files to stream as `appended` events instead of hashing (gitignore-style globs).
        public var logGlobs: [String] = []
        /// Paths to ignore besides `.git` and friends and `.cpignore` files.
        public var ignoreGlobs: [String] = []
        /// Threads hashing files.
        public var hashWorkers = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
        /// Where the model is kept between runs; nil: nowhere.
        public var statePath: String?
        /// How often a changed model is saved to `statePath` while running.
        public var saveInterval: Duration = .seconds(30)
        /// Report every file of a root the state file does not hold (as `rescanned`) instead
        /// of crawling it silently: for a consumer that knows only what it is told (`cp up`'s
        /// MajorDomo, whose state lives beside the watcher's).
        public var reportUnsaved = false

        public init() {}
    }

    /// What the watcher is asked from outside while it runs.
    enum Command {
        /// `done` is told whether the root is watched (false: the watcher stopped first).
        case addRoot(String, logGlobs: [String]?, ignoreGlobs: [String]?, done: @Sendable (Bool) -> Void)
        case rescan
        case stop
    }

    /// Commands not yet taken by the engine's loop; `closed` once the loop has ended.
    struct CommandQueue {
        var queued: [Command] = []
        var closed = false
    }

    /// Every change, in order. Finishes after `stop()`.
    public let changes: AsyncStream<FileChange>
    private let continuation: AsyncStream<FileChange>.Continuation
    private let commands = Mutex<CommandQueue>(CommandQueue())
    private let wakeSource: @Sendable () -> Void
    private let finished = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let isFinished = Atomic<Bool>(false)
    private let established = Mutex<Summary?>(nil)
    /// How many changes were put on `changes`.
    private let reportedCount = ReportCount()
    private let source: any FileEventSource
    /// The roots given at start, checked, and what the state file held for them.
    private let initialRoots: [String]
    private let savedState: [String: [String: Entry]]

    /// What the first crawl found.
    public struct Summary: Sendable, Equatable {
        public var directories: Int
        public var files: Int
        /// Directories left unwatched because the inotify watch limit was reached.
        public var unwatched: Int
        /// How many changes were reported (put on `changes`) by the time the model was complete:
        /// the first crawl's reports are those, so a consumer that has taken this many has
        /// taken them all.
        public var reported = 0
    }

    /// Checks the roots and starts watching and crawling them on the engine's thread; returns
    /// once every directory of every root is watched (hashing goes on after), without blocking
    /// the caller's thread. `onModelComplete` is called once every file of the first crawl is
    /// hashed.
    public static func start(
        roots: [String], options: Options, logger: Logger, source: (any FileEventSource)? = nil,
        onModelComplete: (@Sendable (Summary) -> Void)? = nil
    ) async throws(WatchError) -> FileWatcher {
        let watcher = try FileWatcher(roots: roots, options: options, logger: logger, source: source)
        await withCheckedContinuation { (walked: CheckedContinuation<Void, Never>) in
            watcher.run(options: options, logger: logger, onModelComplete: onModelComplete) {
                walked.resume()
            }
        }
        return watcher
    }

    private init(
        roots: [String], options: Options, logger: Logger, source given: (any FileEventSource)?
    ) throws(WatchError) {
        initialRoots = try Self.check(roots)
        let source: any FileEventSource
        if let given { source = given } else { source = try Self.inotify() }
        (changes, continuation) = AsyncStream.makeStream(of: FileChange.self)
        self.source = source
        wakeSource = { [source] in source.wake() }
        savedState = try options.statePath.map(StateFile.load) ?? [:]
    }

    /// Starts the engine's thread: it watches and crawls the roots, calls `walked` once every
    /// directory is watched, then runs the loop until `stop`.
    private func run(
        options: Options, logger: Logger, onModelComplete: (@Sendable (Summary) -> Void)?,
        walked: @escaping @Sendable () -> Void
    ) {
        let (roots, source, saved, reported) = (initialRoots, source, savedState, reportedCount)
        let thread = Thread { [self, continuation] in
            let engine = WatchEngine(
                source: source,
                settings: .init(settle: options.settle, hashWorkers: options.hashWorkers),
                logger: logger
            ) { change in
                reported.increment()
                continuation.yield(change)
            }
            engine.onInitialModelComplete = { [weak engine] in
                guard let engine else { return }
                var summary = Self.summarise(engine)
                summary.reported = reported.current
                onModelComplete?(summary)
            }
            var count = 0
            var total = Summary(directories: 0, files: 0, unwatched: 0)
            engine.onWalked = { [unowned engine] in
                count += 1
                total.directories += engine.crawled.directories
                total.files += engine.crawled.files
                guard count == roots.count else { return }
                total.unwatched = engine.unwatchedDirectories
                self.established.withLock { $0 = total }
                engine.onWalked = nil
                walked()
            }
            for root in roots {
                engine.addRoot(
                    root, ignoreGlobs: options.ignoreGlobs, logGlobs: options.logGlobs,
                    saved: saved[root], reportWhole: options.reportUnsaved)
            }
            if roots.isEmpty { walked() }
            run(engine, options: options)
        }
        thread.name = "cp-watch"
        thread.start()
    }

    /// What the first crawl found (directories watched, files seen).
    public var summary: Summary { established.withLock { $0 } ?? Summary(directories: 0, files: 0, unwatched: 0) }

    /// Watches another root (or, for a root already watched, sets its globs; nil keeps them).
    /// Returns once every directory of the root is watched, so a change made after it is seen
    /// (`changesArePublishedAndWatchRequestsAddRoots`); false if the watcher stopped first.
    public func add(root: String, logGlobs: [String]? = nil, ignoreGlobs: [String]? = nil) async throws(WatchError)
        -> Bool
    {
        let root = try Self.check([root])[0]
        return await withCheckedContinuation { (taken: CheckedContinuation<Bool, Never>) in
            let command = Command.addRoot(root, logGlobs: logGlobs, ignoreGlobs: ignoreGlobs) {
                taken.resume(returning: $0)
            }
            if !send(command) { taken.resume(returning: false) }
        }
    }

    /// Compares every root with the disk again; differences are reported as `rescanned`.
    public func rescan() { send(.rescan) }

    /// Reports what is still settling, waits for its hashes, saves the model and ends
    /// `changes`.
    public func stop() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let done = finished.withLock { waiters -> Bool in
                if isFinished.load(ordering: .acquiring) { return true }
                waiters.append(waiter)
                return false
            }
            if done { waiter.resume() } else { send(.stop) }
        }
    }

    /// Queues `command` for the engine's loop; false once the loop has ended.
    @discardableResult
    private func send(_ command: Command) -> Bool {
        let taken = commands.withLock { queue -> Bool in
            guard !queue.closed else { return false }
            queue.queued.append(command)
            return true
        }
        if taken { wakeSource() }
        return taken
    }

    /// The engine's loop: events, commands, timers, until `stop`.
    private func run(_ engine: WatchEngine, options: Options) {
        let clock = ContinuousClock()
        var lastSave = clock.now
        engine.step([])  // an empty tree's model is complete at once
        loop: while true {
            let events = engine.source.next(timeout: engine.timeout(now: clock.now) ?? options.saveInterval)
            engine.step(events)
            var stopping = false
            for command in commands.withLock({ queue in
                defer { queue.queued.removeAll() }; return queue.queued
            }) {
                switch command {
                case .addRoot(_, _, _, let done) where stopping:
                    done(false)
                case .addRoot(let path, let logGlobs, let ignoreGlobs, let done):
                    defer { done(true) }  // the walk has watched every directory by now
                    if let index = engine.roots.firstIndex(where: { $0.path == path }) {
                        engine.setGlobs(root: index, ignoreGlobs: ignoreGlobs, logGlobs: logGlobs)
                    } else {
                        engine.addRoot(
                            path, ignoreGlobs: ignoreGlobs ?? options.ignoreGlobs,
                            logGlobs: logGlobs ?? options.logGlobs,
                            saved: [:])
                    }
                case .rescan:
                    if !stopping { engine.rescanAll() }
                case .stop:
                    stopping = true  // what came after it in this batch is answered, not run
                }
            }
            if stopping {
                engine.flush()
                break loop
            }
            if let path = options.statePath, engine.dirty, clock.now - lastSave >= options.saveInterval {
                save(engine, to: path)
                lastSave = clock.now
            }
        }
        if let path = options.statePath { save(engine, to: path) }
        let left = commands.withLock { queue in
            queue.closed = true
            defer { queue.queued.removeAll() }
            return queue.queued
        }
        for case .addRoot(_, _, _, let done) in left { done(false) }
        continuation.finish()
        let waiters = finished.withLock { waiters in
            isFinished.store(true, ordering: .releasing)
            defer { waiters.removeAll() }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func save(_ engine: WatchEngine, to path: String) {
        do {
            try StateFile.save(engine.snapshot(), to: path)
        } catch {
            engine.logger.error("cannot save the state file: \(error)")
        }
    }

    private static func summarise(_ engine: WatchEngine) -> Summary {
        var summary = Summary(directories: 0, files: 0, unwatched: engine.unwatchedDirectories)
        for root in engine.roots {
            for entry in root.model.values {
                if entry.isDirectory { summary.directories += 1 } else { summary.files += 1 }
            }
        }
        return summary
    }

    private static func inotify() throws(WatchError) -> InotifySource {
        do {
            return try InotifySource()
        } catch {
            throw .cannotStart(reason: Self.describe(error))
        }
    }

    static func describe(_ failure: WatchFailure) -> String {
        switch failure {
        case .limitReached: return "the inotify limit is reached (fs.inotify.max_user_instances)"
        case .unavailable(let code): return String(cString: strerror(code))
        }
    }

    /// Absolute, existing, readable directories, none inside another.
    static func check(_ roots: [String]) throws(WatchError) -> [String] {
        var checked: [String] = []
        for root in roots {
            let absolute = root.hasPrefix("/") ? root : FileManager.default.currentDirectoryPath + "/" + root
            let path = URL(fileURLWithPath: absolute).standardizedFileURL.path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw .badRoot(root, reason: "no such directory")
            }
            guard isDirectory.boolValue else { throw .badRoot(root, reason: "not a directory") }
            guard access(path, R_OK | X_OK) == 0 else { throw .badRoot(root, reason: "permission denied") }
            checked.append(path)
        }
        for (index, root) in checked.enumerated() {
            for other in checked[(index + 1)...] {
                if other == root || other.hasPrefix(root == "/" ? "/" : root + "/") {
                    throw .badRoot(other, reason: "inside '\(root)', which is watched already")
                }
                if root.hasPrefix(other == "/" ? "/" : other + "/") {
                    throw .badRoot(root, reason: "inside '\(other)', which is watched already")
                }
            }
        }
        return checked
    }
}

/// Why the watcher cannot start (or take a root).
public enum WatchError: Error, Equatable, CustomStringConvertible {
    case badRoot(String, reason: String)
    case cannotStart(reason: String)
    case stateFile(String, reason: String)

    public var description: String {
        switch self {
        case .badRoot(let root, let reason): return "cannot watch '\(root)': \(reason)"
        case .cannotStart(let reason): return "cannot start watching: \(reason)"
        case .stateFile(let path, let reason): return "state file '\(path)': \(reason)"
        }
    }
}

/// A count shared with the engine's thread.
final class ReportCount: Sendable {
    private let value = Atomic<Int>(0)

    func increment() { value.wrappingAdd(1, ordering: .relaxed) }

    var current: Int { value.load(ordering: .relaxed) }
}
