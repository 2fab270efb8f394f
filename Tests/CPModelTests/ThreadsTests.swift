import CPModel
import Foundation
import Synchronization
import Testing

/// The threads that keep blocking work off Swift's cooperative pool.
@Suite struct ThreadsTests {
    @Test func manyBlockingCallsShareABoundedSetOfThreads() async throws {
        let counts = Concurrency()
        let results = await withTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask {
                    await blockingCall("test") { () throws(Never) -> Int in
                        counts.enter()
                        usleep(2_000)  // a blocking C call, as far as the pool can tell
                        counts.leave()
                        return index
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<200))
        #expect(counts.most > 1 && counts.most <= BlockingPool.shared.limit)
        #expect(BlockingPool.shared.threadCount <= BlockingPool.shared.limit)
    }

    @Test func parallelWorkVisitsEveryIterationOnce() {
        let visits = Visits(count: 1000)
        ParallelWork.run(iterations: 1000, threads: 4) { visits.visit($0) }
        #expect(visits.counts == Array(repeating: 1, count: 1000))
    }

    /// How many calls ran at once, and the most that ever did.
    final class Concurrency: Sendable {
        private let state = Mutex<(now: Int, most: Int)>((0, 0))
        func enter() { state.withLock { $0 = ($0.now + 1, max($0.most, $0.now + 1)) } }
        func leave() { state.withLock { $0.now -= 1 } }
        var most: Int { state.withLock { $0.most } }
    }

    /// How often each iteration was visited, from any thread.
    final class Visits: Sendable {
        private let counters: Mutex<[Int]>
        init(count: Int) { counters = Mutex(Array(repeating: 0, count: count)) }
        func visit(_ index: Int) { counters.withLock { $0[index] += 1 } }
        var counts: [Int] { counters.withLock { $0 } }
    }
}
