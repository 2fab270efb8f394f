import Foundation
import Hashing

/// A bounded pool of hashing threads. Jobs go in from the engine's thread; outcomes come back
/// through `collect()`, and `ready` is called (from a worker) whenever one is waiting.
final class HashPool: @unchecked Sendable {
    struct Job {
        var key: PathKey
        var path: String
        var generation: UInt64
    }

    struct Outcome {
        var job: Job
        var result: Result<FileHasher.Result, HashingError>
    }

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var outcomes: [Outcome] = []
    private var stopped = false
    private let ready: @Sendable () -> Void

    init(workers: Int, ready: @escaping @Sendable () -> Void) {
        self.ready = ready
        for index in 0..<max(1, workers) {
            let thread = Thread { [self] in work() }
            thread.name = "cp-watch-hash-\(index)"
            thread.start()
        }
    }

    func submit(_ job: Job) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// The outcomes finished since the last call.
    func collect() -> [Outcome] {
        condition.lock()
        defer { condition.unlock() }
        let done = outcomes
        outcomes.removeAll(keepingCapacity: true)
        return done
    }

    /// Gives back what a large crawl's queue held, to the system too (glibc keeps freed memory
    /// otherwise).
    func releaseMemory() {
        condition.lock()
        if head == jobs.count {
            jobs = []
            head = 0
        }
        outcomes = []
        condition.unlock()
        _ = Self.trim?(0)
    }

    private static let trim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()

    /// Lets the workers end once the queue is empty.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        guard let hasher = try? FileHasher() else { return }
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            let result: Result<FileHasher.Result, HashingError>
            do {
                result = .success(try hasher.hash(job.path))
            } catch let error as HashingError {
                result = .failure(error)
            } catch {
                result = .failure(.file(path: job.path, call: "hash", errno: EIO))
            }
            condition.lock()
            let first = outcomes.isEmpty
            outcomes.append(Outcome(job: job, result: result))
            condition.unlock()
            if first { ready() }
        }
    }
}
