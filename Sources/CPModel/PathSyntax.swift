/// Paths as the kernel reads them: split at every `/` byte. Swift's `String` compares and
/// splits by grapheme clusters, and a `/` followed by a combining mark is one cluster, so
/// `"../\u{301}x".split(separator: "/")` is one component where the kernel sees `..` and
/// `\u{301}x`: every check of a path that must stay inside a root goes through here.
public enum PathSyntax {
    static let slash = UInt8(ascii: "/")

    /// Whether `path` is absolute: its first byte is `/`, whatever follows it.
    public static func isAbsolute(_ path: String) -> Bool { path.utf8.first == slash }

    /// Whether `path` is `root` or under it, compared byte for byte (`String`'s comparison
    /// takes canonically equivalent names for one and a `/` with a mark after it for no `/`).
    public static func isInside(_ path: String, _ root: String) -> Bool {
        let root = root.utf8.last == slash ? root.utf8.dropLast() : root.utf8[...]
        let path = path.utf8
        return path.starts(with: root) && (path.count == root.count || path.dropFirst(root.count).first == slash)
    }

    /// `path`'s components, split at every `/` byte (empty ones left out unless asked for).
    public static func components(_ path: String, omittingEmpty: Bool = true) -> [String] {
        path.utf8.split(separator: slash, omittingEmptySubsequences: omittingEmpty).map {
            String(decoding: $0, as: UTF8.self)
        }
    }
}
