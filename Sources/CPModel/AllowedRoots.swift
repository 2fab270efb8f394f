import Foundation

/// The directories a role may be asked to work in (`--allow DIR`, repeatable): a project root
/// a request names must be one of them or inside one, both with symbolic links resolved, so
/// whoever can publish on NATS cannot point a watcher at `/` or a Chef's outputs at `/etc`.
/// No directories: any root (the default; NATS's own authorization is then the boundary).
public struct AllowedRoots: Sendable, Equatable {
    public let directories: [String]

    public init(_ directories: [String]) {
        self.directories = directories.map(Self.resolved)
    }

    /// True when `root` may be used.
    public func allows(_ root: String) -> Bool {
        guard !directories.isEmpty else { return true }
        let path = Self.resolved(root)
        return directories.contains { PathSyntax.isInside(path, $0) }
    }

    /// Why `root` may not be used, in one line.
    public func refusal(_ root: String) -> String {
        "'\(root.prefix(300))' is outside the directories this role may work in (--allow "
            + directories.joined(separator: ", ") + ")"
    }

    /// Absolute, normalised, with symbolic links resolved.
    static func resolved(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
