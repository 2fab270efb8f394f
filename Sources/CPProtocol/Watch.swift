/// The body of `watchRequest.<pod>` (MajorDomo → watcher): a root to watch, or new globs for
/// a root already watched (nil keeps what is set).
public struct WatchRequest: Codable, Sendable, Equatable {
    /// An absolute directory on the watcher's machine.
    public var root: String
    /// Files to stream as `appended` events while they grow, unhashed (the `isLog` types).
    public var logGlobs: [String]?
    /// Paths to leave out, besides `.git` and friends and `.cpignore` files.
    public var ignoreGlobs: [String]?

    public init(root: String, logGlobs: [String]? = nil, ignoreGlobs: [String]? = nil) {
        self.root = root
        self.logGlobs = logGlobs
        self.ignoreGlobs = ignoreGlobs
    }
}

/// The answer to a `watchRequest`: sent once every directory of the root is watched, so a
/// change made after it is seen; `watching` is false when the watcher is stopping.
public struct WatchReply: Codable, Sendable, Equatable {
    public var root: String
    public var watching: Bool

    public init(root: String, watching: Bool) {
        self.root = root
        self.watching = watching
    }
}
