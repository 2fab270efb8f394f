import Foundation
import Hashing

/// A bounded pool of hashing threads. Jobs go in from the engine's thread; outcomes come back
/// through `collect()`, and `ready` is called (from a worker) whenever one is waiting.
///
/// A job is some files of one directory: the worker opens the directory once and each file
/// relative to it, and the engine takes one lock per directory, not per file, during a crawl.
final class HashPool: @unchecked Sendable {
    struct Job {
        var root: Int
        /// The directory, relative to the root, and as an absolute path.
        var directory: String
        var absoluteDirectory: String
        var names: [String]
        /// The engine's ticket for a single file; a first crawl's batches have none.
        var generation: UInt64?
    }

    struct Outcome {
        var job: Job
        /// One per name, in order.
        var results: [Result<FileHasher.Result, HashingError>]
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
            let results = Self.hash(job, with: hasher)
            condition.lock()
            let first = outcomes.isEmpty
            outcomes.append(Outcome(job: job, results: results))
            condition.unlock()
            if first { ready() }
        }
    }

    private static func hash(_ job: Job, with hasher: FileHasher) -> [Result<FileHasher.Result, HashingError>] {
        let directory = open(job.absoluteDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            let code = errno
            return job.names.map { .failure(.file(path: job.absoluteDirectory + "/" + $0, call: "open", errno: code)) }
        }
        defer { close(directory) }
        return job.names.map { name in
            do {
                return .success(try hasher.hash(in: directory, name, describedAs: job.absoluteDirectory + "/" + name))
            } catch let error as HashingError {
                return .failure(error)
            } catch {
                return .failure(.file(path: job.absoluteDirectory + "/" + name, call: "hash", errno: EIO))
            }
        }
    }
}
