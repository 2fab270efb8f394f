import CPModel
import Foundation

/// The paths a job names, checked before anything is read or written (DESIGN §7): each is
/// relative to the project root, holds no `..`, and does not lead outside the root through a
/// symbolic link.
public enum JobPaths {
    /// Why `path` is refused as it is written, or nil when it is a clean relative path.
    public static func problem(_ path: String) -> String? {
        if path.isEmpty { return "an empty path" }
        if path.utf8.contains(0) { return "a path holding NUL" }
        if PathSyntax.isAbsolute(path) { return "'\(path)' is absolute" }
        let components = PathSyntax.components(path, omittingEmpty: false)
        if components.contains("..") { return "'\(path)' climbs out with '..'" }
        if components.contains(where: \.isEmpty) || components.contains(".") { return "'\(path)' is not clean" }
        if path.utf8.count > 4096 { return "'\(path.prefix(40))…' is longer than a path may be" }
        return nil
    }

    /// `path` under `root`, once it is clean and no existing part of it is a symbolic link
    /// leading outside `root` (the root itself may be reached through links).
    public static func resolve(_ path: String, in root: String) throws(JobFailure) -> String {
        try resolve(path, in: root, realRoot: try realRoot(root))
    }

    /// `resolve` for each of `paths` (each once), the root resolved once.
    public static func check(_ paths: [String], in root: String) throws(JobFailure) {
        let real = try realRoot(root)
        for path in Set(paths) { _ = try resolve(path, in: root, realRoot: real) }
    }

    private static func realRoot(_ root: String) throws(JobFailure) -> String {
        guard let real = realPath(root) else { throw JobFailure("the project root '\(root)' is not there") }
        return real
    }

    private static func resolve(_ path: String, in root: String, realRoot: String) throws(JobFailure) -> String {
        if let problem = problem(path) { throw JobFailure("path refused: \(problem)") }
        let full = root + "/" + path
        // The deepest part of the path that exists, resolved, must stay under the root.
        var existing = full
        var info = stat()
        while lstat(existing, &info) != 0 {
            existing = (existing as NSString).deletingLastPathComponent
            guard existing.count > root.count else { return full }
        }
        guard let resolved = realPath(existing) else {
            throw JobFailure("path refused: '\(path)' passes through a symbolic link that leads nowhere")
        }
        guard PathSyntax.isInside(resolved, realRoot) else {
            throw JobFailure("path refused: '\(path)' leads outside the project through a symbolic link")
        }
        return full
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
