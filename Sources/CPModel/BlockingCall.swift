import Foundation

/// Runs a blocking C call on a thread of its own and suspends the caller until it returns.
/// Never block Swift's cooperative pool (PLATFORM.md: on Linux `DispatchQueue.global()`
/// shares its threads and deadlocked it).
public func blockingCall<T: Sendable, E: Error>(
    _ name: String, _ body: @escaping @Sendable () throws(E) -> T
) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        let thread = Thread {
            do throws(E) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        thread.name = name
        thread.start()
    }
    return try result.get()
}
