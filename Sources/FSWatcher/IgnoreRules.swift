// gitignore(5)-syntax matching for the file watcher: `IgnoreRules` is one parsed pattern list,
// `IgnoreStack` combines the global rules with the `.cpignore` file of each directory.
//
// Patterns are compiled once into small token arrays and matched against the UTF-8 bytes of a path
// with the classic two-pointer star-backtracking algorithm, used twice: within one path component
// (`*`, `?`, `[...]`) and across components (`**`). Both levels are O(pattern × text), never exponential.

/// One parsed pattern list (the lines of one .gitignore-style file, or a list of --ignore globs),
/// anchored at `base` (a relative directory path inside the watched root, "" for the root itself).
public struct IgnoreRules: Sendable {
    /// UTF-8 bytes of the base directory, without leading or trailing slash; empty for the root.
    private let base: [UInt8]
    private let rules: [Rule]

    /// Parses file text: one pattern per line (`\n` or `\r\n` line ends; a leading UTF-8 BOM is skipped).
    public init(text: String, base: String = "") {
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            bytes.removeFirst(3)
        }
        self.init(lines: bytes.split(separator: .newline, omittingEmptySubsequences: false), base: base)
    }

    /// Parses a list of patterns, one pattern per element, with the same syntax as the lines of a file.
    public init(patterns: [String], base: String = "") {
        self.init(lines: patterns.map { Array($0.utf8)[...] }, base: base)
    }

    private init(lines: [ArraySlice<UInt8>], base: String) {
        self.base = Array(normalizedDirectory(base).utf8)
        self.rules = lines.compactMap(Rule.init(line:))
    }

    /// True if the list holds no pattern (only blank lines and comments, or nothing at all).
    public var isEmpty: Bool { rules.isEmpty }

    /// nil if no rule matches `path`; true if the last matching rule ignores it, false if the last
    /// matching rule is a negation ("!pattern") that re-includes it.
    /// `path` is relative to the watched root, '/'-separated, no leading or trailing slash.
    ///
    /// Only `path` itself is tested, not its parent directories (`IgnoreStack.isIgnored` does that).
    public func verdict(_ path: String, isDirectory: Bool) -> Bool? {
        if rules.isEmpty {
            return nil
        }
        var path = path
        return path.withUTF8 { verdict(path: $0, isDirectory: isDirectory) }
    }

    /// `verdict(_:isDirectory:)` on the UTF-8 bytes of a path (indices starting at 0).
    fileprivate func verdict(path: UnsafeBufferPointer<UInt8>, isDirectory: Bool) -> Bool? {
        guard !rules.isEmpty, let start = relativeStart(of: path) else {
            return nil
        }
        let nameStart = path[start...].lastIndex(of: .slash).map { $0 + 1 } ?? start
        for rule in rules.reversed()
        where rule.matches(path, relativeStart: start, nameStart: nameStart, isDirectory: isDirectory) {
            return !rule.isNegation
        }
        return nil
    }

    /// Index where the part of `path` below `base` starts, or nil if `path` is not strictly inside `base`.
    private func relativeStart(of path: UnsafeBufferPointer<UInt8>) -> Int? {
        if base.isEmpty {
            return path.isEmpty ? nil : 0
        }
        guard path.count > base.count + 1, path[base.count] == .slash, path.starts(with: base) else {
            return nil
        }
        return base.count + 1
    }
}

/// A stack of rule sets: the global ones (from --ignore) plus the `.cpignore` file of each
/// directory, each applying to its own subtree. Later (deeper) sets override earlier ones, as in git.
///
/// The global rules have the lowest precedence (like git's `core.excludesFile`): any `.cpignore`
/// rule that matches a path overrides them.
public struct IgnoreStack: Sendable {
    private var global: IgnoreRules
    /// The rules of each `.cpignore`, keyed by its directory (normalized: no leading or trailing slash).
    private var files: [String: IgnoreRules] = [:]

    public init(global: IgnoreRules) {
        self.global = global
    }

    /// Sets (replaces) the rules of the `.cpignore` in directory `directory` (relative path, "" = root).
    /// Empty text removes it (as does text holding only blank lines and comments).
    public mutating func setFile(in directory: String, text: String) {
        let directory = normalizedDirectory(directory)
        let rules = IgnoreRules(text: text, base: directory)
        files[directory] = rules.isEmpty ? nil : rules
    }

    /// Forgets the `.cpignore` of `directory` (relative path, "" = root).
    public mutating func removeFile(in directory: String) {
        files[normalizedDirectory(directory)] = nil
    }

    /// Replaces the global rules.
    public mutating func setGlobal(_ rules: IgnoreRules) {
        global = rules
    }

    /// Whether `path` is ignored. Like git: if any parent directory of `path` is ignored, `path`
    /// is ignored too (a negation cannot re-include a file inside an ignored directory).
    /// Checks the global rules and every .cpignore whose directory is an ancestor of `path`,
    /// the deepest file's last matching rule winning.
    /// With `parentVisible` (a walk that only descends into directories it did not ignore),
    /// the parent directories are not tested again: only the path itself is.
    public func isIgnored(_ path: String, isDirectory: Bool, parentVisible: Bool = false) -> Bool {
        if global.isEmpty && files.isEmpty {
            return false
        }
        var path = path
        return path.withUTF8 { isIgnored(path: $0, isDirectory: isDirectory, parentVisible: parentVisible) }
    }

    /// Walks `path` from its first component down, testing each parent directory and then the path itself.
    private func isIgnored(path: UnsafeBufferPointer<UInt8>, isDirectory: Bool, parentVisible: Bool) -> Bool {
        // The .cpignore files of the directories above the current prefix, shallowest first.
        var applicable: [IgnoreRules] = []
        if let rootFile = files[""] {
            applicable.append(rootFile)
        }
        var componentStart = 0
        while true {
            let end = path[componentStart...].firstIndex(of: .slash) ?? path.endIndex
            let prefix = UnsafeBufferPointer(rebasing: path[..<end])
            let isLast = end == path.endIndex
            if parentVisible && !isLast && files.isEmpty {  // nothing to learn from the parents
                componentStart = end + 1
                continue
            }
            let ignored =
                parentVisible && !isLast
                ? nil : verdict(prefix, isDirectory: isLast ? isDirectory : true, applicable: applicable)
            if isLast || ignored == true {
                return ignored == true
            }
            if !files.isEmpty, let file = files[String(decoding: prefix, as: UTF8.self)] {
                applicable.append(file)
            }
            componentStart = end + 1
        }
    }

    /// The verdict of the deepest applicable file that has one, else of the global rules.
    private func verdict(_ path: UnsafeBufferPointer<UInt8>, isDirectory: Bool, applicable: [IgnoreRules]) -> Bool? {
        for file in applicable.reversed() {
            if let verdict = file.verdict(path: path, isDirectory: isDirectory) {
                return verdict
            }
        }
        return global.verdict(path: path, isDirectory: isDirectory)
    }
}

// MARK: - Parsing

/// `directory` without leading or trailing slashes; "." means the root ("").
private func normalizedDirectory(_ directory: String) -> String {
    var trimmed = Substring(directory)
    while trimmed.hasPrefix("/") {
        trimmed.removeFirst()
    }
    while trimmed.hasSuffix("/") {
        trimmed.removeLast()
    }
    return trimmed == "." ? "" : String(trimmed)
}

/// One compiled pattern line.
private struct Rule: Sendable {
    enum Pattern: Sendable {
        /// No slash in the pattern (other than a trailing one): matched against the last path component.
        case name(Glob)
        /// Slash at the start or in the middle: matched against the whole path below the base, per component.
        case path([Segment])
    }

    let isNegation: Bool
    let directoryOnly: Bool
    let pattern: Pattern

    /// Compiles one line; nil for blank lines, comments and invalid patterns (which git never matches).
    init?(line rawLine: ArraySlice<UInt8>) {
        var line = Array(rawLine)
        if line.last == .carriageReturn {
            line.removeLast()
        }
        guard line.first != .hash else {
            return nil
        }
        line = trimmingTrailingSpaces(line)
        isNegation = line.first == .bang
        if isNegation {
            line.removeFirst()
        }
        directoryOnly = line.last == .slash
        if directoryOnly {
            line.removeLast()
        }
        let isAnchored = line.contains(.slash)
        if line.first == .slash {
            line.removeFirst()
        }
        guard !line.isEmpty else {
            return nil
        }
        guard isAnchored else {
            guard let glob = Glob(line) else {
                return nil
            }
            pattern = .name(glob)
            return
        }
        var segments: [Segment] = []
        for part in line.split(separator: .slash, omittingEmptySubsequences: false) {
            if part.elementsEqual([.star, .star]) {
                if case .globstar? = segments.last {
                    continue  // `**/**` is the same as `**`
                }
                segments.append(.globstar)
            } else {
                guard let glob = Glob(Array(part)) else {
                    return nil
                }
                segments.append(.glob(glob))
            }
        }
        if case .globstar? = segments.last {
            // A trailing `/**` matches everything inside, but not the directory itself.
            segments.append(.glob(Glob.anyName))
        }
        pattern = .path(segments)
    }

    func matches(_ path: UnsafeBufferPointer<UInt8>, relativeStart: Int, nameStart: Int, isDirectory: Bool) -> Bool {
        if directoryOnly && !isDirectory {
            return false
        }
        switch pattern {
        case .name(let glob):
            return glob.matches(path, from: nameStart, to: path.count)
        case .path(let segments):
            return matchSegments(segments, path, from: relativeStart)
        }
    }
}

/// Drops trailing spaces unless escaped with a backslash (`\ ` keeps the space).
private func trimmingTrailingSpaces(_ line: [UInt8]) -> [UInt8] {
    var end = 0
    var index = 0
    while index < line.count {
        switch line[index] {
        case .backslash:
            index = min(index + 2, line.count)
            end = index
        case .space:
            index += 1
        default:
            index += 1
            end = index
        }
    }
    return Array(line[..<end])
}

// MARK: - Matching across components

/// One '/'-separated part of an anchored pattern.
private enum Segment: Sendable {
    /// `**`: zero or more whole path components.
    case globstar
    /// Exactly one path component.
    case glob(Glob)
}

/// Matches `segments` against the components of `path[start...]` ('/'-separated). Star backtracking on
/// components: a globstar is a star, a glob segment matches exactly one component.
private func matchSegments(_ segments: [Segment], _ path: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
    let end = path.count
    var segment = 0
    var component = start  // start of the current component; past `end` once all are consumed
    var lastGlobstar = -1
    var globstarResume = start  // where the text after the last globstar's match resumes
    while component <= end {
        let componentEnd = path[component...].firstIndex(of: .slash) ?? end
        if segment < segments.count {
            switch segments[segment] {
            case .globstar:
                lastGlobstar = segment
                globstarResume = component
                segment += 1
                continue
            case .glob(let glob):
                if glob.matches(path, from: component, to: componentEnd) {
                    segment += 1
                    component = componentEnd + 1
                    continue
                }
            }
        }
        guard lastGlobstar >= 0 else {
            return false
        }
        // Let the last globstar swallow one more component and retry from there.
        globstarResume = (path[globstarResume...].firstIndex(of: .slash) ?? end) + 1
        segment = lastGlobstar + 1
        component = globstarResume
    }
    while segment < segments.count, case .globstar = segments[segment] {
        segment += 1
    }
    return segment == segments.count
}

// MARK: - Matching within one component
