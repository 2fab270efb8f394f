import Foundation

/// CPU-bound work split over the cores on threads of its own (`DispatchQueue.concurrentPerform`
/// on Linux borrows the threads Swift's cooperative pool runs on, PLATFORM.md). The caller takes
/// a share of the work itself and then waits for the others, which depend on nothing but the
/// work: the wait is bounded by the work, never by the pool.
public enum ParallelWork {
    /// Calls `body(i)` for every `i` in `0..<iterations`, on `threads` threads (the caller's
    /// among them), each taking the next iteration as it finishes one; returns when all are done.
    public static func run(
        iterations: Int, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
        _ body: @escaping @Sendable (Int) -> Void
    ) {
        let helpers = max(0, min(threads, iterations) - 1)
        let state = Shared(iterations: iterations, helpers: helpers)
        for _ in 0..<helpers {
            let thread = Thread {
                state.drain(body)
                state.finishedOne()
            }
            thread.name = "cp-parallel"
            thread.start()
        }
        state.drain(body)
        state.waitForHelpers()
    }

    /// The next iteration to hand out, and how many helpers are still working.
    private final class Shared: @unchecked Sendable {
        private let condition = NSCondition()
        private var next = 0
        private let iterations: Int
        private var working: Int

        init(iterations: Int, helpers: Int) {
            self.iterations = iterations
            self.working = helpers
        }

        func drain(_ body: (Int) -> Void) {
            while let index = take() { body(index) }
        }

        private func take() -> Int? {
            condition.withLock {
                guard next < iterations else { return nil }
                defer { next += 1 }
                return next
            }
        }

        func finishedOne() {
            condition.withLock {
                working -= 1
                condition.broadcast()
            }
        }

        func waitForHelpers() {
            condition.withLock { while working > 0 { condition.wait() } }
        }
    }
}
