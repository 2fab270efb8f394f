import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs blocking work (socket I/O, `waitpid`, `usleep`) on a fresh thread and suspends the
/// caller until it finishes, so Swift's small cooperative pool is never blocked: one blocked
/// pool thread was enough to make unrelated tests time out on a 2-core machine.
public func runOnDedicatedThread<T: Sendable>(
    _ name: String, _ body: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.name = name
        thread.start()
    }
}

/// Sleeps for `duration` even if the current task is cancelled.
///
/// Cleanup (stopping servers after a failed or cancelled test) must still wait for children
/// to exit; `Task.sleep` returns immediately once the task is cancelled, which would turn
/// the wait loops into busy loops, so a cancelled sleep falls back to a thread.
func pause(_ duration: Duration) async {
    if !Task.isCancelled, (try? await Task.sleep(for: duration)) != nil { return }
    let micros = UInt32(
        clamping: duration.components.seconds * 1_000_000
            + duration.components.attoseconds / 1_000_000_000_000)
    _ = try? await runOnDedicatedThread("TestSupport.pause") { usleep(micros) }
}
