import Foundation

/// Runs a blocking C call (a libnats request, a JetStream fetch, a curl transfer) on one of a
/// bounded set of threads kept for the purpose, and suspends the caller until it returns.
/// Never block Swift's cooperative pool (PLATFORM.md: on Linux `DispatchQueue.global()`
/// shares its threads and deadlocked it). Calls beyond `BlockingPool.limit` wait for a thread.
public func blockingCall<T: Sendable, E: Error>(
    _ name: String, _ body: @escaping @Sendable () throws(E) -> T
) async throws(E) -> T {
    let result: Result<T, E> = await withCheckedContinuation { continuation in
        BlockingPool.shared.submit {
            do throws(E) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
    return try result.get()
}

/// Runs `body` on a new thread of its own and suspends the caller until it returns: for work
/// that blocks for long (a build job runs for minutes), which would hold one of the pool's
/// threads from the short calls.
public func onThreadOfItsOwn<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = name
        thread.start()
    }
}

/// The threads behind `blockingCall`: started as calls need them, up to `limit`, and ended
/// after a minute without work, so a burst of JetStream publishes costs no thread each.
public final class BlockingPool: @unchecked Sendable {
    public static let shared = BlockingPool(limit: 32)

    /// The most threads the pool runs at once.
    public let limit: Int
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var threads = 0
    private var idle = 0

    init(limit: Int) { self.limit = limit }

    /// Queues `job`; a thread takes it at once if one is idle or may be started.
    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        // More queued jobs than threads waiting for them: another thread, within the limit.
        let start = jobs.count - head > idle && threads < limit
        if start { threads += 1 }
        condition.signal()
        condition.unlock()
        if start {
            let thread = Thread { [self] in work() }
            thread.name = "cp-blocking"
            thread.start()
        }
    }

    /// Threads alive now (for tests).
    public var threadCount: Int { condition.withLock { threads } }

    private func work() {
        condition.lock()
        while true {
            while head == jobs.count {
                idle += 1
                let woke = condition.wait(until: Date(timeIntervalSinceNow: 60))
                idle -= 1
                if !woke && head == jobs.count {
                    threads -= 1
                    condition.unlock()
                    return
                }
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job()
            condition.lock()
        }
    }
}
