import CPProtocol
import FSWatcher
import Foundation
import Hashing
import Logging
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A watcher on a temporary tree and everything it reported, for tests.
final class WatchedTree: Sendable {
    let directory: TemporaryDirectory
    let watcher: FileWatcher
    private let log = Recorded()
    private let reader: Task<Void, Never>
    private let barriers = Atomic<Int>(0)
    private let complete: ModelComplete

    init(
        _ directory: TemporaryDirectory? = nil, options: FileWatcher.Options = .init(),
        source: (any FileEventSource)? = nil
    ) async throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        var logger = Logger(label: "test-watch")
        logger.logLevel = .error
        let complete = ModelComplete()
        self.complete = complete
        watcher = try await FileWatcher.start(roots: [directory.path], options: options, logger: logger, source: source)
        { _ in
            complete.flag.store(true, ordering: .releasing)
        }
        let stream = watcher.changes
        reader = Task { [log] in
            for await change in stream { log.items.withLock { $0.append(change) } }
        }
    }

    var root: String { directory.path }
    var changes: [FileChange] { log.items.withLock { $0 } }

    /// Changes other than the barrier files' own.
    var reported: [FileChange] { changes.filter { !$0.path.hasPrefix("zz-barrier") } }

    func path(_ relative: String) -> String { directory.file(relative) }

    /// Waits until `condition` holds for what was reported.
    func wait(
        for what: String, deadline: Duration = .seconds(20), _ condition: @escaping ([FileChange]) -> Bool
    ) async throws {
        try await waitUntil(deadline: deadline, what) { condition(self.changes) }
    }

    /// Waits until every file of the first crawl is hashed.
    func waitForModel() async throws {
        try await waitUntil(deadline: .seconds(30), "the initial model") { complete.flag.load(ordering: .acquiring) }
    }

    /// Waits until a change of `path` with `reason` is reported.
    func wait(_ reason: FileChange.Reason, _ path: String, deadline: Duration = .seconds(20)) async throws {
        try await wait(for: "\(reason) \(path)", deadline: deadline) { changes in
            changes.contains { $0.reason == reason && $0.path == path }
        }
    }

    /// Creates a fresh file and waits for its report: everything that settled before it has
    /// been reported by then (small files settle in order).
    func barrier() async throws {
        // Unique across runs: a barrier left from an earlier watcher must not be "unchanged".
        let name = "zz-barrier-\(barriers.add(1, ordering: .relaxed).newValue)-\(UUID().uuidString)"
        try writeFile(name, "")
        try await wait(.created, name)
    }

    func clear() { log.items.withLock { $0.removeAll() } }

    func stop() async {
        await watcher.stop()
        await reader.value
    }

    /// Writes `text` with one open, write and close (no temporary file, unlike Foundation's
    /// atomic writes), making parent directories.
    @discardableResult
    func writeFile(_ relative: String, _ text: String, append: Bool = false) throws -> String {
        let target = path(relative)
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(target, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        return target
    }
}

final class ModelComplete: Sendable {
    let flag = Atomic<Bool>(false)
}

/// Changes collected by a reading task.
final class Recorded: Sendable {
    let items = Mutex<[FileChange]>([])
}

/// The SHA-256 of `text`, as the watcher reports it.
func sha256(_ text: String) -> String {
    (try? SHA256Hasher.hex(of: Array(text.utf8))) ?? ""
}

/// An event source whose events the test writes, over a real directory tree: watching only
/// hands out descriptors, nothing is reported unless sent.
final class ScriptedSource: FileEventSource, @unchecked Sendable {
    private let condition = NSCondition()
    private var descriptors: [String: Int32] = [:]
    private var queued: [RawEvent] = []
    private var woken = false

    func watch(directory path: String) throws(WatchFailure) -> Int32 {
        condition.lock()
        defer { condition.unlock() }
        if let known = descriptors[path] { return known }
        let next = Int32(descriptors.count + 1)
        descriptors[path] = next
        return next
    }

    func unwatch(_ watch: Int32) {}

    func next(timeout: Duration?) -> [RawEvent] {
        condition.lock()
        defer { condition.unlock() }
        if queued.isEmpty && !woken {
            if let timeout {
                let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0, seconds)))
            } else {
                condition.wait()
            }
        }
        woken = false
        defer { queued.removeAll() }
        return queued
    }

    func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    /// The descriptor handed out for directory `path`.
    func descriptor(_ path: String) -> Int32 {
        condition.lock()
        defer { condition.unlock() }
        return descriptors[path] ?? -1
    }

    func send(_ events: [RawEvent]) {
        condition.lock()
        queued += events
        condition.signal()
        condition.unlock()
    }
}
