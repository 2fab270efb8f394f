import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh private (mode 0700) directory under `$TMPDIR` or `/tmp`, named `cp-test-XXXXXX`.
/// It is removed by `remove()` or, at the latest, when the object is deallocated.
public final class TemporaryDirectory: @unchecked Sendable {
    /// Absolute path of the directory, without a trailing slash.
    public let path: String
    private let lock = NSLock()
    private var removed = false

    /// Creates the directory with `mkdtemp`, so the name cannot collide with another test's.
    public init() throws {
        var base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if base.isEmpty || !base.hasPrefix("/") { base = "/tmp" }
        while base.count > 1 && base.hasSuffix("/") { base.removeLast() }
        var template = Array("\(base)/cp-test-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let start = buffer.baseAddress else { return false }
            return mkdtemp(start) != nil
        }
        guard created else { throw TestServerError.systemCall(call: "mkdtemp(\(base))", errno: errno) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Path of `name` inside the directory.
    public func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Writes `text` to `name` inside the directory, making parent directories as needed,
    /// and returns the file's path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let path = file(name)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Deletes the directory and everything in it. Safe to call more than once.
    public func remove() {
        lock.lock()
        defer { lock.unlock() }
        guard !removed else { return }
        removed = true
        try? FileManager.default.removeItem(atPath: path)
    }

    deinit { remove() }
}
