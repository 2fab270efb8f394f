import CPModel
import Foundation
import Hashing

/// What a build recorded of a task's last success (DESIGN §5): what it ran, the content of
/// each input it read (nil: a secondary input that did not exist) and of each output it wrote.
/// Files are kept in the task's own order (primary inputs, then secondary ones; outputs as
/// declared), so an unchanged task is checked position by position, with no look-up by path.
public struct TaskRecord: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        public var path: String
        public var digest: SHA256Digest?

        public init(_ path: String, _ digest: SHA256Digest?) {
            self.path = path
            self.digest = digest
        }
    }

    /// The digest of the rule's name and the expanded argv: a changed command reruns the task.
    public var signature: SHA256Digest
    public var inputs: [File]
    public var outputs: [File]
    /// The inputs its tool reported reading beyond those declared (a rule's `discover`: an
    /// `\input` chapter, a header), with their content when the task ran; sorted by path.
    public var discovered: [File]

    public init(signature: SHA256Digest, inputs: [File], outputs: [File], discovered: [File] = []) {
        self.signature = signature
        self.inputs = inputs
        self.outputs = outputs
        self.discovered = discovered
    }

    /// Looks files of a record up by path: by position first (a task whose inputs did not
    /// change is checked with no hashing), by a map built on first need otherwise.
    struct Lookup {
        let files: [File]
        private var byPath: [String: SHA256Digest?]?

        init(_ files: [File]) { self.files = files }

        /// The recorded digest of `path`, expected at `position`; outer nil: not recorded.
        mutating func digest(_ path: String, at position: Int) -> SHA256Digest?? {
            if position < files.count, files[position].path == path { return .some(files[position].digest) }
            let map: [String: SHA256Digest?]
            if let byPath {
                map = byPath
            } else {
                var built = [String: SHA256Digest?](minimumCapacity: files.count)
                for file in files { built[file.path] = .some(file.digest) }
                byPath = built
                map = built
            }
            return map[path]
        }
    }
}

/// Where task records live between builds. A record is written only after its task succeeded
/// and every declared output was hashed, in one step, so a crash never leaves a record that
/// claims an output that was not written.
public protocol BuildStateStore: AnyObject {
    func record(of task: String) throws -> TaskRecord?
    func save(_ record: TaskRecord, of task: String) throws
    func remove(task: String) throws
    /// The tasks whose records hold any of `paths` as a discovered input (what a change to a
    /// file no definition names must rebuild), sorted.
    func tasks(discovering paths: Set<String>) throws -> [String]
}

/// Records in memory: for tests, and for a build that is not to be remembered.
public final class InMemoryBuildStateStore: BuildStateStore {
    public private(set) var records: [String: TaskRecord] = [:]

    public init() {}

    public func record(of task: String) throws -> TaskRecord? { records[task] }
    public func save(_ record: TaskRecord, of task: String) throws { records[task] = record }
    public func remove(task: String) throws { records[task] = nil }

    public func tasks(discovering paths: Set<String>) throws -> [String] {
        records.filter { $0.value.discovered.contains { paths.contains($0.path) } }.map(\.key).sorted()
    }
}

/// The current content of the project's files, by path relative to its root.
public protocol FileStates: AnyObject {
    /// The digest of `path`'s content now; nil if it does not exist (or is not a file).
    func digest(_ path: String) -> SHA256Digest?
    /// `path` may just have been written: look again next time.
    func invalidate(_ path: String)
    /// The digests of `paths`, in order: what `digest` gives for each, perhaps found side by side.
    func digests(_ paths: [String]) -> [SHA256Digest?]
}

extension FileStates {
    public func digests(_ paths: [String]) -> [SHA256Digest?] { paths.map { digest($0) } }
}

/// Digests remembered across builds, each with the identity (size, time, inode) it was
/// computed for, so an unchanged tree is not hashed again by the next build.
public protocol DigestCache: AnyObject {
    func loadDigests() throws -> [String: (identity: FileIdentity, digest: SHA256Digest)]
    /// Records new digests; a nil value forgets the path.
    func saveDigests(_ changes: [String: (identity: FileIdentity, digest: SHA256Digest)?]) throws
}

/// Files on disk, links followed (a linked file reads as its target, as the tools read it). A
/// file is hashed again only when its size, modification time or inode moved since it was
/// last hashed (timestamps never decide, they only gate re-hashing). With a `DigestCache`,
/// what was hashed is remembered across builds (`save()`).
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
        apply(Self.look(at: path, in: root, known: known, with: hasher), to: path)
    }

    /// Looks at many files on every core: `stat`, and hashing where the identity moved (the
    /// `stat` calls of a large project's first plan are most of its time).
    public func digests(_ paths: [String]) -> [SHA256Digest?] {
        let workers = ProcessInfo.processInfo.activeProcessorCount
        guard workers > 1, paths.count >= 1024 else { return paths.map { digest($0) } }
        var looks = [Look](repeating: .gone, count: paths.count)
        let slices = workers * 8
        let (root, known) = (root, known)
        looks.withUnsafeMutableBufferPointer { buffer in
            let looks = SlotsForEachThread(buffer)
            ParallelWork.run(iterations: slices, threads: workers) { slice in
                let hasher = try? FileHasher()
                let range = paths.count * slice / slices..<paths.count * (slice + 1) / slices
                for index in range {
                    looks.buffer[index] = Self.look(at: paths[index], in: root, known: known, with: hasher)
                }
            }
        }
        return zip(paths, looks).map { apply($1, to: $0) }
    }

    /// A buffer whose slots the threads of `ParallelWork` fill, each its own.
    private struct SlotsForEachThread: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Look>
        init(_ buffer: UnsafeMutableBufferPointer<Look>) { self.buffer = buffer }
    }

    /// What a look at one file found.
    private enum Look {
        case gone
        case known(SHA256Digest)
        case hashed(FileIdentity, SHA256Digest)
    }

    /// Looks at `path` without changing anything (so that several threads may look at once).
    private static func look(
        at path: String, in root: String, known: [String: (identity: FileIdentity, digest: SHA256Digest)],
        with hasher: FileHasher?
    ) -> Look {
        let absolute = PathSyntax.isAbsolute(path) ? path : root + "/" + path  // a system file, recorded on request
        var info = stat()
        guard stat(absolute, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return .gone }
        let identity = FileIdentity(info)
        if let cached = known[path], cached.identity == identity { return .known(cached.digest) }
        guard let hasher, let result = try? hasher.hash(absolute, followingLinks: true), !result.changedWhileRead
        else { return .gone }
        return .hashed(result.after, result.digest)
    }

    /// Remembers what a look found.
    private func apply(_ look: Look, to path: String) -> SHA256Digest? {
        switch look {
        case .gone:
            forget(path)
            return nil
        case .known(let digest):
            return digest
        case .hashed(let identity, let digest):
            known[path] = (identity, digest)
            changes[path] = .some((identity, digest))
            return digest
        }
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
    /// The signature of a task's command: its rule and argv. A scheduler passes its own
    /// `hasher` (reset here) rather than setting one up for every task.
    public static func signature(rule: String, argv: [String], using hasher: SHA256Hasher? = nil) -> SHA256Digest {
        guard let hasher = hasher ?? (try? SHA256Hasher()), (try? hasher.reset()) != nil else {
            return SHA256Digest([])
        }
        var separator: UInt8 = 0
        for (index, part) in ([rule] + argv).enumerated() {
            if index > 0 { try? withUnsafeBytes(of: &separator) { try hasher.update($0) } }
            var part = part
            try? part.withUTF8 { try hasher.update(UnsafeRawBufferPointer($0)) }
        }
        return (try? hasher.finalize()) ?? SHA256Digest([])
    }
}
