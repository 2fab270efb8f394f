import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on a file, held for as long as the object lives (`flock`): one build of a
/// project, one MajorDomo per state directory. The kernel drops it when the process ends,
/// however it ends; the file keeps the holder's pid so a refusal can name it.
final class PidLock {
    enum Failure: Error, CustomStringConvertible {
        /// Another process holds it; its pid, when the file says.
        case held(pid: String?)
        case cannotOpen(path: String, errno: Int32)

        var description: String {
            switch self {
            case .held(let pid): return "it is held\(pid.map { " by pid \($0)" } ?? "")"
            case .cannotOpen(let path, let code): return "cannot open '\(path)': \(String(cString: strerror(code)))"
            }
        }
    }

    private let descriptor: Int32

    /// Takes the lock on `path` (creating it and its directory), or fails at once.
    init(_ path: String) throws(Failure) {
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
            close(descriptor)
            throw .held(pid: holder.flatMap { $0.isEmpty ? nil : $0 })
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
    }

    deinit { close(descriptor) }
}
