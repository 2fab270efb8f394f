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

/// Files on disk. A file is hashed again only when its size, modification time or inode
/// moved since it was last hashed (timestamps never decide, they only gate re-hashing).
public final class DiskFileStates: FileStates {
    public let root: String
    private var known: [String: (identity: FileIdentity, digest: SHA256Digest)] = [:]
    private let hasher: FileHasher?

    public init(root: String) {
        self.root = root
        hasher = try? FileHasher()
    }

    public func digest(_ path: String) -> SHA256Digest? {
        let absolute = root + "/" + path
        var info = stat()
        guard lstat(absolute, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            known[path] = nil
            return nil
        }
        let identity = FileIdentity(info)
        if let cached = known[path], cached.identity == identity { return cached.digest }
        guard let hasher, let result = try? hasher.hash(absolute), !result.changedWhileRead else {
            known[path] = nil
            return nil
        }
        known[path] = (result.after, result.digest)
        return result.digest
    }

    public func invalidate(_ path: String) { known[path] = nil }
}

extension TaskRecord {
    /// The signature of a task's command: its rule and argv.
    public static func signature(rule: String, argv: [String]) -> SHA256Digest {
        let bytes = Array(([rule] + argv).joined(separator: "\u{0}").utf8)
        return (try? SHA256Hasher.hex(of: bytes)).flatMap(SHA256Digest.init(hex:)) ?? SHA256Digest([])
    }
}
