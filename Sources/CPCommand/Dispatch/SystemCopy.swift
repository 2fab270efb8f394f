#if canImport(Glibc)
    import Glibc
#endif

/// The hand-off to coreutils (DESIGN §1.1): a command line that is not ours is given, whole,
/// to the system's own `cp`, never to this binary.
enum SystemCopy {
    static let candidates = ["/usr/bin/cp", "/bin/cp"]

    /// The first candidate that exists, is executable and is not this very binary.
    static func find(candidates: [String] = candidates, selfPath: String = "/proc/self/exe") -> String? {
        var ownStatus = stat()
        let knowsSelf = stat(selfPath, &ownStatus) == 0
        for path in candidates {
            var status = stat()
            guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, access(path, X_OK) == 0 else {
                continue
            }
            if knowsSelf && status.st_dev == ownStatus.st_dev && status.st_ino == ownStatus.st_ino { continue }
            return path
        }
        return nil
    }

    /// Replaces this process with the system `cp` running `arguments`; returns only on failure,
    /// with the reason.
    static func exec(_ arguments: [String]) -> String {
        guard let path = find() else {
            return
                "no system cp at \(candidates.joined(separator: " or ")) to hand '\(arguments.joined(separator: " "))' to; "
                + "for ComputePods see 'cp --help'"
        }
        let argv = (["cp"] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        argv.forEach { free($0) }
        return "cannot run the system cp '\(path)': \(reason)"
    }
}
