/// Paths as the kernel reads them: split at every `/` byte. Swift's `String` compares and
/// splits by grapheme clusters, and a `/` followed by a combining mark is one cluster, so
/// `"../\u{301}x".split(separator: "/")` is one component where the kernel sees `..` and
/// `\u{301}x`: every check of a path that must stay inside a root goes through here.
public enum PathSyntax {
    static let slash = UInt8(ascii: "/")

    /// Whether `path` is absolute: its first byte is `/`, whatever follows it.
    public static func isAbsolute(_ path: String) -> Bool { path.utf8.first == slash }

    /// `path`'s components, split at every `/` byte (empty ones left out unless asked for).
    public static func components(_ path: String, omittingEmpty: Bool = true) -> [String] {
        path.utf8.split(separator: slash, omittingEmptySubsequences: omittingEmpty).map {
            String(decoding: $0, as: UTF8.self)
        }
    }
}
