import CPModel
import CPProtocol
import RulesManager

/// What the MajorDomo knows of one file of a project (DESIGN §6): its content's digest and
/// the pod holding its newest copy.
public struct Artefact: Codable, Sendable, Equatable {
    /// Lowercase hex SHA-256; nil for a log file (streamed, never hashed).
    public var sha256: String?
    public var size: UInt64
    /// Seconds since the epoch.
    public var mtime: Double
    /// Permission bits.
    public var mode: UInt32
    public var pod: String

    public init(sha256: String?, size: UInt64, mtime: Double, mode: UInt32, pod: String) {
        self.sha256 = sha256
        self.size = size
        self.mtime = mtime
        self.mode = mode
        self.pod = pod
    }
}

/// One file of a project as `GET /files/<p>` lists it.
public struct ArtefactView: Codable, Sendable, Equatable {
    public var path: String
    public var artefact: Artefact
}

/// Turns a watcher's change into the changes of the files of the projects under its root.
enum ChangeMapping {
    /// The project-relative paths `change` touches, in the project rooted at `root`, with what
    /// each holds now (nil: gone); `known` are the project's files before the change (for a
    /// directory moved or deleted, what was under it). Nil when the change is outside the
    /// project or its path is not a clean relative path (absolute, with `..`).
    static func changes(
        of change: FileChange, pod: String, inProjectAt root: String, known: [String: Artefact]
    ) -> [String: Artefact?]? {
        guard let path = relative(change.root, change.path, to: root) else { return nil }
        var result: [String: Artefact?] = [:]
        if change.reason == .moved, let from = change.from.flatMap({ relative(change.root, $0, to: root) }) {
            for (old, artefact) in under(from, known) {
                result[old] = .some(nil)
                result[path + old.dropFirst(from.count)] = artefact
            }
            if !change.isDir { result[from] = .some(nil) }
        }
        if change.reason == .appended { return result }  // a log growing: nothing to record
        if change.isDir {
            if !change.exists { for (old, _) in under(path, known) { result[old] = .some(nil) } }
            return result
        }
        guard change.exists, let size = change.size, let mtime = change.mtime else {
            result[path] = .some(nil)
            return result
        }
        result[path] = Artefact(sha256: change.sha256, size: size, mtime: mtime, mode: change.mode ?? 0o644, pod: pod)
        return result
    }

    /// `path` (relative to `watchedRoot`) relative to the project at `root`, normalised; nil if
    /// it is not inside the project or is not a clean relative path.
    static func relative(_ watchedRoot: String, _ path: String, to root: String) -> String? {
        guard !PathSyntax.isAbsolute(path), path.isEmpty || ProjectPath.normalize(path) == path else { return nil }
        let absolute = path.isEmpty ? watchedRoot : watchedRoot + "/" + path
        guard PathSyntax.isInside(absolute, root) else { return nil }
        return String(decoding: absolute.utf8.dropFirst(root.utf8.count + 1), as: UTF8.self)
    }

    /// The known files at `path` or below it.
    private static func under(_ path: String, _ known: [String: Artefact]) -> [(String, Artefact)] {
        known.filter { path.isEmpty || $0.key == path || $0.key.hasPrefix(path + "/") }.map { ($0.key, $0.value) }
    }
}
