import Foundation
import Hashing

/// What a build recorded of a task's last success (DESIGN §5): what it ran, the content of
/// each input it read (nil: a secondary input that did not exist) and of each output it wrote.
public struct TaskRecord: Sendable, Equatable {
    /// The digest of the rule's name and the expanded argv: a changed command reruns the task.
    public var signature: SHA256Digest
    public var inputs: [String: SHA256Digest?]
    public var outputs: [String: SHA256Digest]

    public init(signature: SHA256Digest, inputs: [String: SHA256Digest?], outputs: [String: SHA256Digest]) {
        self.signature = signature
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// Where task records live between builds. A record is written only after its task succeeded
/// and every declared output was hashed, in one step, so a crash never leaves a record that
/// claims an output that was not written.
public protocol BuildStateStore: AnyObject {
    func record(of task: String) throws -> TaskRecord?
    func save(_ record: TaskRecord, of task: String) throws
    func remove(task: String) throws
}

/// Records in memory: for tests, and for a build that is not to be remembered.
public final class InMemoryBuildStateStore: BuildStateStore {
    public private(set) var records: [String: TaskRecord] = [:]

    public init() {}

    public func record(of task: String) throws -> TaskRecord? { records[task] }
    public func save(_ record: TaskRecord, of task: String) throws { records[task] = record }
    public func remove(task: String) throws { records[task] = nil }
}

/// The current content of the project's files, by path relative to its root.
public protocol FileStates: AnyObject {
    /// The digest of `path`'s content now; nil if it does not exist (or is not a file).
    func digest(_ path: String) -> SHA256Digest?
    /// `path` may just have been written: look again next time.
    func invalidate(_ path: String)
}

/// Digests remembered across builds, each with the identity (size, time, inode) it was
/// computed for, so an unchanged tree is not hashed again by the next build.
public protocol DigestCache: AnyObject {
    func loadDigests() throws -> [String: (identity: FileIdentity, digest: SHA256Digest)]
    /// Records new digests; a nil value forgets the path.
    func saveDigests(_ changes: [String: (identity: FileIdentity, digest: SHA256Digest)?]) throws
}

/// Files on disk. A file is hashed again only when its size, modification time or inode
/// moved since it was last hashed (timestamps never decide, they only gate re-hashing). With
/// a `DigestCache`, what was hashed is remembered across builds (`save()`).
public final class DiskFileStates: FileStates {
    public let root: String
    private var known: [String: (identity: FileIdentity, digest: SHA256Digest)] = [:]
    private var changes: [String: (identity: FileIdentity, digest: SHA256Digest)?] = [:]
    private let hasher: FileHasher?
    private let cache: DigestCache?

    public init(root: String, cache: DigestCache? = nil) {
        self.root = root
        self.cache = cache
        hasher = try? FileHasher()
        known = (try? cache?.loadDigests()) ?? [:]
    }

    /// Writes what this build hashed (or found gone) to the cache. A file modified in the last
    /// two seconds is left out (git's "racily clean" rule): a write in the same clock tick
    /// would not move its time, so its digest is not trusted beyond this process.
    public func save() throws {
        guard let cache, !changes.isEmpty else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let recent = (Int64(now.tv_sec) - 2) * 1_000_000_000
        try cache.saveDigests(changes.filter { $0.value.map { $0.identity.modified < recent } ?? true })
        changes = [:]
    }

    public func digest(_ path: String) -> SHA256Digest? {
        let absolute = root + "/" + path
        var info = stat()
        guard lstat(absolute, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            forget(path)
            return nil
        }
        let identity = FileIdentity(info)
        if let cached = known[path], cached.identity == identity { return cached.digest }
        guard let hasher, let result = try? hasher.hash(absolute), !result.changedWhileRead else {
            forget(path)
            return nil
        }
        known[path] = (result.after, result.digest)
        changes[path] = .some((result.after, result.digest))
        return result.digest
    }

    /// Hashed again next time, whatever its identity: a file rewritten within one tick of the
    /// kernel's clock keeps its modification time.
    public func invalidate(_ path: String) { known[path] = nil }

    private func forget(_ path: String) {
        guard known.removeValue(forKey: path) != nil else { return }
        changes[path] = .some(nil)
    }
}

extension TaskRecord {
    /// The signature of a task's command: its rule and argv.
    public static func signature(rule: String, argv: [String]) -> SHA256Digest {
        (try? SHA256Hasher.digest(of: Array(([rule] + argv).joined(separator: "\u{0}").utf8))) ?? SHA256Digest([])
    }
}
