import Synchronization

/// What a command leaves for the kernel to reclaim. A command-line run ends in `exit`, and
/// freeing a large project's graph, records and digests object by object first took a third
/// of its first plan (50,000 tasks: ≈0.25 s of ≈0.7 s); clang's `-disable-free` makes the
/// same trade. Only for what lives until the command ends: a long-running role must not use it.
enum ProcessLifetime {
    /// What is kept, boxed: the values are only held, never used, from any thread.
    private struct Kept: @unchecked Sendable { var values: [Any] = [] }
    private static let kept = Mutex(Kept())

    /// Keeps `values`, and everything they hold, until the process exits.
    static func keepUntilExit(_ values: Any...) {
        kept.withLock { $0.values.append(contentsOf: values) }
    }
}
