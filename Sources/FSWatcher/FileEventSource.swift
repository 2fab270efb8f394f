/// One event from the kernel (or a script, in tests): inotify's fields, with the name
/// already decoded.
public struct RawEvent: Sendable, Equatable {
    /// The watch it belongs to; -1 for queue-wide events (overflow).
    public var watch: Int32
    public var mask: UInt32
    /// Pairs a move's two halves.
    public var cookie: UInt32
    /// The entry's name inside the watched directory; empty for events about the directory itself.
    public var name: String

    public init(watch: Int32, mask: UInt32, cookie: UInt32 = 0, name: String = "") {
        self.watch = watch
        self.mask = mask
        self.cookie = cookie
        self.name = name
    }
}

/// inotify's event bits, named once here so the engine never imports Glibc's spellings.
public enum EventMask {
    public static let modify: UInt32 = 0x0000_0002
    public static let attributes: UInt32 = 0x0000_0004
    public static let closeWrite: UInt32 = 0x0000_0008
    public static let movedFrom: UInt32 = 0x0000_0040
    public static let movedTo: UInt32 = 0x0000_0080
    public static let create: UInt32 = 0x0000_0100
    public static let delete: UInt32 = 0x0000_0200
    public static let deleteSelf: UInt32 = 0x0000_0400
    public static let moveSelf: UInt32 = 0x0000_0800
    public static let unmount: UInt32 = 0x0000_2000
    public static let overflow: UInt32 = 0x0000_4000
    public static let ignored: UInt32 = 0x0000_8000
    public static let isDirectory: UInt32 = 0x4000_0000
    /// What the watcher asks for on every directory.
    public static let watched: UInt32 =
        modify | attributes | closeWrite | movedFrom | movedTo | create | delete | deleteSelf | moveSelf
}

/// Why a directory could not be watched.
public enum WatchFailure: Error, Equatable {
    /// The per-user watch limit (`fs.inotify.max_user_watches`) is reached.
    case limitReached
    /// The directory is gone or cannot be read; `errno` says why.
    case unavailable(errno: Int32)
}

/// Where file-system events come from. The engine calls every method on its own thread.
/// `InotifySource` is the real one; tests script events with a fake.
public protocol FileEventSource: AnyObject, Sendable {
    /// Starts watching the directory at `path` (not recursively) and returns its descriptor.
    /// Watching a directory again returns the same descriptor.
    func watch(directory path: String) throws(WatchFailure) -> Int32
    /// Stops watching; the source later reports an `ignored` event for it.
    func unwatch(_ watch: Int32)
    /// Waits until events arrive, `wake()` is called, or `timeout` passes (nil: no limit),
    /// and returns what arrived (possibly nothing).
    func next(timeout: Duration?) -> [RawEvent]
    /// Makes a waiting `next` return. Called from any thread.
    func wake()
}
