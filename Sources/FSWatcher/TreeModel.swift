import Hashing

/// What the watcher last reported about one path.
struct Entry: Equatable {
    var isDirectory: Bool
    var identity: FileIdentity
    /// The content's SHA-256; nil for directories and log files (never hashed).
    var digest: SHA256Digest?
}

/// A path inside one root: the root's index and the path relative to it (`""` is the root).
struct PathKey: Hashable {
    var root: Int
    var path: String
}

/// The model of one root, path → entry. The entries live in one dense array and the dictionary
/// holds only their indices: a dictionary's buckets are mostly empty (a 100,000-file tree gets
/// 262,144 of them), so each bucket holding 4 bytes rather than a whole entry makes the model
/// about half the size.
struct ModelTable: Sequence {
    private var index: [String: Int32] = [:]
    private var entries: [Entry] = []
    /// Slots of `entries` whose path was removed, for the next insertions.
    private var free: [Int32] = []

    init() {}

    init(_ dictionary: [String: Entry]) {
        reserveCapacity(dictionary.count)
        for (path, entry) in dictionary { self[path] = entry }
    }

    subscript(path: String) -> Entry? {
        get { index[path].map { entries[Int($0)] } }
        set {
            if let slot = index[path] {
                if let newValue {
                    entries[Int(slot)] = newValue
                } else {
                    index[path] = nil
                    free.append(slot)
                }
            } else if let newValue {
                if let slot = free.popLast() {
                    entries[Int(slot)] = newValue
                    index[path] = slot
                } else {
                    index[path] = Int32(entries.count)
                    entries.append(newValue)
                }
            }
        }
    }

    @discardableResult
    mutating func removeValue(forKey path: String) -> Entry? {
        guard let entry = self[path] else { return nil }
        self[path] = nil
        return entry
    }

    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }
    var keys: Dictionary<String, Int32>.Keys { index.keys }
    var values: [Entry] { index.values.map { entries[Int($0)] } }

    mutating func reserveCapacity(_ capacity: Int) {
        index.reserveCapacity(capacity)
        entries.reserveCapacity(capacity)
    }

    func makeIterator() -> some IteratorProtocol<(key: String, value: Entry)> {
        var inner = index.makeIterator()
        return AnyIterator { [entries] in inner.next().map { (key: $0.key, value: entries[Int($0.value)]) } }
    }
}

/// Path arithmetic on root-relative paths ('/'-separated, no leading or trailing slash).
enum RelativePath {
    static func join(_ directory: String, _ name: String) -> String {
        directory.isEmpty ? name : directory + "/" + name
    }

    /// Whether `path` is `ancestor` or lies below it.
    static func isWithin(_ path: String, _ ancestor: String) -> Bool {
        if ancestor.isEmpty || path == ancestor { return true }
        return path.hasPrefix(ancestor) && path.utf8.dropFirst(ancestor.utf8.count).first == UInt8(ascii: "/")
    }

    /// `path` moved from below `old` to below `new` (`path` must be within `old`).
    static func rebase(_ path: String, from old: String, to new: String) -> String {
        if path == old { return new }
        let rest = String(path.dropFirst(old.count + (old.isEmpty ? 0 : 1)))
        return join(new, rest)
    }

    /// The directory part of `path` (`""` for a top-level name).
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    static func name(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

/// One watched root: its model of the tree (what was last reported), its ignore rules and its
/// log globs.
final class RootState {
    let path: String
    var model = ModelTable()
    var present = true
    var ignores: IgnoreStack
    var logRules: IgnoreRules
    /// Directories holding a `.cpignore` (their rules are in `ignores`).
    var ignoreFiles: Set<String> = []

    init(path: String, ignoreGlobs: [String], logGlobs: [String]) {
        self.path = path
        ignores = IgnoreStack(global: IgnoreRules(patterns: DefaultIgnores.patterns + ignoreGlobs))
        logRules = IgnoreRules(patterns: logGlobs)
    }

    func absolute(_ relative: String) -> String {
        relative.isEmpty ? path : path + "/" + relative
    }

    func isIgnored(_ relative: String, isDirectory: Bool, parentVisible: Bool = false) -> Bool {
        !relative.isEmpty && ignores.isIgnored(relative, isDirectory: isDirectory, parentVisible: parentVisible)
    }

    func isLog(_ relative: String) -> Bool {
        !logRules.isEmpty && logRules.verdict(relative, isDirectory: false) == true
    }

    /// The model's paths within `directory` (itself included), deepest first.
    func paths(within directory: String) -> [String] {
        model.keys.filter { RelativePath.isWithin($0, directory) }.sorted { $0.count > $1.count }
    }
}

/// What is never worth reporting: version-control internals, editors' swap, backup and
/// probe files, `cp`'s own partial transfers and its build state.
enum DefaultIgnores {
    static let patterns = [
        ".git/", ".hg/", ".svn/", ".cp/",
        "*.swp", "*.swo", "*.swx", "*~", "#*#", ".#*", "4913",
        ".*.cp-part", ".*.cp-part.ranges", ".*.cp-tmp-*",
    ]
}
