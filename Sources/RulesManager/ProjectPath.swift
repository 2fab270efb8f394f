import CPModel

/// Paths of artefacts: relative to the project root, '/'-separated, normalised (no `.`,
/// no empty components). A path that is absolute or climbs out of the root is refused, and so
/// is one no file on Linux can have (a NUL byte, over `PATH_MAX` bytes, a component over
/// `NAME_MAX`).
public enum ProjectPath {
    /// The longest path (`PATH_MAX` less the NUL) and file name (`NAME_MAX`) Linux accepts.
    public static let maxLength = 4095
    public static let maxNameLength = 255

    /// `raw` normalised, or nil if it is empty, absolute, escapes the root or cannot name a file.
    public static func normalize(_ raw: String) -> String? {
        guard !PathSyntax.isAbsolute(raw), raw.utf8.count <= maxLength, !raw.utf8.contains(0) else { return nil }
        if isPlain(raw) { return raw }
        var components: [String] = []
        for component in PathSyntax.components(raw) {
            switch component {
            case ".": continue
            case "..":
                guard !components.isEmpty else { return nil }
                components.removeLast()
            default:
                guard component.utf8.count <= maxNameLength else { return nil }
                components.append(component)
            }
        }
        return components.isEmpty ? nil : components.joined(separator: "/")
    }

    /// Already normal: no empty, `.` or `..` component (the common case, checked on the bytes).
    private static func isPlain(_ path: String) -> Bool {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        var length = 0
        var onlyDots = true
        for byte in path.utf8 {
            if byte == slash {
                if length == 0 || (onlyDots && length <= 2) { return false }
                length = 0
                onlyDots = true
            } else {
                length += 1
                if length > maxNameLength { return false }
                onlyDots = onlyDots && byte == dot
            }
        }
        return length > 0 && !(onlyDots && length <= 2)
    }

    /// `raw` normalised, or an error naming it and where it was written.
    static func checked(_ raw: Located<String>, what: String, context: String) throws(DefinitionError) -> Located<
        String
    > {
        guard let path = normalize(raw.value) else {
            let why =
                if PathSyntax.isAbsolute(raw.value) {
                    "is absolute"
                } else if raw.value.utf8.contains(0) {
                    "holds a NUL byte"
                } else if raw.value.utf8.count > maxLength
                    || PathSyntax.components(raw.value).contains(where: {
                        $0.utf8.count > maxNameLength
                    })
                {
                    "is longer than a Linux path may be"
                } else if PathSyntax.components(raw.value).contains("..") {
                    "climbs out of the project"
                } else {
                    "is empty"
                }
            throw DefinitionError(
                what: what, at: raw.location,
                "path '\(raw.value)' in \(context) \(why): artefacts are paths relative to the project root")
        }
        return Located(path, at: raw.location)
    }

    /// The last component.
    public static func name(_ path: String) -> Substring {
        path.split(separator: "/").last ?? Substring(path)
    }
}

/// A rule's path pattern with one `%` (make's pattern rules): `%.c` matches `greet.c` with
/// the stem `greet`, and `obj/%.o` becomes `obj/greet.o` for it. The stem may hold slashes.
public struct PathPattern: Sendable, Hashable {
    public let prefix: String
    public let suffix: String

    /// nil unless `text` holds exactly one `%`.
    public init?(_ text: String) {
        let parts = text.split(separator: "%", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        prefix = String(parts[0])
        suffix = String(parts[1])
    }

    /// The stem, if `path` matches (a non-empty stem; a pattern without a directory part
    /// matches in any directory, as in make: `%.o` from `%.c` turns `src/a.c` into `src/a.o`).
    public func stem(of path: String) -> String? {
        guard path.count > prefix.count + suffix.count, path.hasPrefix(prefix), path.hasSuffix(suffix) else {
            return nil
        }
        return String(path.dropFirst(prefix.count).dropLast(suffix.count))
    }

    public func instantiate(_ stem: String) -> String { prefix + stem + suffix }
}
