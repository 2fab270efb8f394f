#if canImport(Glibc)
    import Glibc
#endif

/// Writes to stdout and stderr through write(2): Swift 6 refuses the C `stdout`/`stderr`
/// globals, and CPCommand is the only module that prints (STYLE).
enum Output {
    static func out(_ text: String) { write(text, to: STDOUT_FILENO) }
    static func err(_ text: String) { write(text, to: STDERR_FILENO) }

    /// `cp: <role>: <message>` on stderr, the form of every error message (DESIGN §10).
    static func error(_ role: String?, _ message: String) {
        err((role.map { "cp: \($0): " } ?? "cp: ") + message + "\n")
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return  // a closed pipe or full disk: nothing useful left to say
            }
            bytes = bytes.dropFirst(written)
        }
    }
}
