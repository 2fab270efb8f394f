/// One change the watcher reports (DESIGN §3 `fileChanged`): the body of a
/// `fileChanged.<reason>.<pod>.<path>` message, or one line of `cp watch --print`.
public struct FileChange: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable, CaseIterable {
        case created, changed, deleted, moved, appended, rescanned
    }

    public var reason: Reason
    /// The watched root, absolute.
    public var root: String
    /// Relative to `root`; `""` is the root itself.
    public var path: String
    /// For `moved`: the old path (relative to `root`).
    public var from: String?
    /// Whether `path` exists after the change (false for deletions, including a rescan's).
    public var exists: Bool
    public var isDir: Bool
    /// Size in bytes; nil when the path no longer exists.
    public var size: UInt64?
    /// Modification time, seconds since the epoch; nil when the path no longer exists.
    public var mtime: Double?
    /// Lowercase hex SHA-256 of the content; nil for directories, deletions and log files.
    public var sha256: String?
    /// Permission bits (so executables stay executable across pods); nil when gone.
    public var mode: UInt32?
    /// For `appended`: the bytes added, `[start, end)`.
    public var range: [UInt64]?

    public init(
        reason: Reason, root: String, path: String, from: String? = nil, exists: Bool, isDir: Bool,
        size: UInt64? = nil, mtime: Double? = nil, sha256: String? = nil, mode: UInt32? = nil, range: [UInt64]? = nil
    ) {
        self.reason = reason
        self.root = root
        self.path = path
        self.from = from
        self.exists = exists
        self.isDir = isDir
        self.size = size
        self.mtime = mtime
        self.sha256 = sha256
        self.mode = mode
        self.range = range
    }

    enum CodingKeys: String, CodingKey {
        case reason, root, path, from, exists, isDir, size, mtime, sha256, mode, range
    }

    /// Every key is written, absent values as `null`, so a reader never has to guess.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reason, forKey: .reason)
        try container.encode(root, forKey: .root)
        try container.encode(path, forKey: .path)
        try container.encode(from, forKey: .from)
        try container.encode(exists, forKey: .exists)
        try container.encode(isDir, forKey: .isDir)
        try container.encode(size, forKey: .size)
        try container.encode(mtime, forKey: .mtime)
        try container.encode(sha256, forKey: .sha256)
        try container.encode(mode, forKey: .mode)
        try container.encode(range, forKey: .range)
    }
}
