// bench/majordomo-change's Swift side: the MajorDomo's decision after one header changed, on a
// generated project (bench/lib/graph.sh), from the watcher's report of the change to the first
// job on the work queue (the settle time set to zero, so it is not counted).
//
//   majordomo-bench change DIR RULES ROUNDS
//   majordomo-bench ingest NATS-URL SOCKET ROOT PROJECT N
//   majordomo-bench rest SOCKET PATH N
//   majordomo-bench jobs NATS-URL KIND ROOT N          (Jobs.swift)
//   majordomo-bench fetch NATS-URL KIND ROOT SFTP ROUNDS (Jobs.swift)
//
// `rest` sends N GET requests for PATH one after the other and prints the p50 and p99 of
// their round trips in milliseconds.
//
// `ingest` publishes N file changes under ROOT in a burst, as a watcher of pod "bench" would
// (each with its Nats-Msg-Id), then asks the MajorDomo at SOCKET until project PROJECT holds
// all N: the publishing time and the time until all were applied, in seconds.
//
// The core runs in this process with an in-memory work queue; jobs are "run" by answering
// each at once with new digests for its outputs. Setup (every file reported, a first build
// of every task) is not timed. Prints one line: rounds, median and p99 in milliseconds.
import CPProtocol
import Foundation
import Hashing
import Logging
import MajorDomo
import NATSClient
import RESTClient
import Synchronization

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("majordomo-bench: \(message)\n".utf8))
    exit(1)
}

/// The work queue: notes when each job arrives; the bench answers them.
final class Queue: JobQueue {
    let jobs = Mutex<[Job]>([])
    let firstArrival = Mutex<ContinuousClock.Instant?>(nil)

    func submit(_ job: Job, kind: String) async throws {
        let now = ContinuousClock.now
        firstArrival.withLock { $0 = $0 ?? now }
        jobs.withLock { $0.append(job) }
    }

    func cancel(_ jobID: String, reason: JobCancel.Reason) async {}

    func take() -> [Job] {
        jobs.withLock { taken in
            defer { taken = [] }; return taken
        }
    }
}

/// A digest for `path` in `round`.
func digest(_ path: String, _ round: Int) -> String {
    (try? SHA256Hasher.hex(of: Array("\(path) \(round)".utf8))) ?? ""
}

/// Answers every queued job until no build runs.
func drain(_ core: Coordinator, _ queue: Queue, round: Int) async {
    let chef = Sender(pod: "bench", role: "chef", name: "bench")
    while true {
        let jobs = queue.take()
        if jobs.isEmpty {
            if await core.isIdle { return }
            await Task.yield()
            continue
        }
        for job in jobs {
            var outputs: [String: JobResult.Output] = [:]
            for path in job.outputs { outputs[path] = .init(size: 1, mtime: 1, sha256: digest(path, round)) }
            await core.finished(
                JobResult(jobId: job.jobId, result: .succeeded, exitCode: 0, elapsed: 0, outputs: outputs), chef: chef)
        }
    }
}

func report(_ core: Coordinator, _ root: String, _ path: String, _ round: Int) async throws {
    try await core.apply(
        FileChange(
            reason: .changed, root: root, path: path, exists: true, isDir: false, size: 1, mtime: Double(round),
            sha256: digest(path, round), mode: 0o644), pod: "bench")
}

let arguments = CommandLine.arguments
if arguments.count == 5, arguments[1] == "rest", let count = Int(arguments[4]) {
    let rest = RESTClient(RESTOptions(endpoint: .unixSocket(arguments[2])))
    var times: [Double] = []
    for _ in 0..<count {
        let started = ContinuousClock.now
        _ = try await rest.send("GET", arguments[3])
        times.append((ContinuousClock.now - started).inSeconds * 1000)
    }
    times.sort()
    print(
        String(
            format: "p50_ms %.3f p99_ms %.3f", times[times.count / 2],
            times[min(times.count - 1, times.count * 99 / 100)]))
    exit(0)
}
if arguments.count == 6, arguments[1] == "jobs", let count = Int(arguments[5]) {
    try await JobBench.jobs(url: arguments[2], kind: arguments[3], root: arguments[4], count: count)
    exit(0)
}
if arguments.count == 7, arguments[1] == "fetch", let rounds = Int(arguments[6]) {
    try await JobBench.fetch(
        url: arguments[2], kind: arguments[3], root: arguments[4], sftp: arguments[5], rounds: rounds)
    exit(0)
}
if arguments.count == 7, arguments[1] == "ingest", let count = Int(arguments[6]) {
    try await ingest(url: arguments[2], socket: arguments[3], root: arguments[4], project: arguments[5], count: count)
    exit(0)
}
guard arguments.count == 5, arguments[1] == "change", let rounds = Int(arguments[4]) else {
    fail("usage: majordomo-bench change DIR RULES ROUNDS | ingest NATS-URL SOCKET ROOT PROJECT N")
}
let (root, rules) = (arguments[2], arguments[3])
let state = NSTemporaryDirectory() + "/majordomo-bench-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: state) }
var logger = Logger(label: "bench")
logger.logLevel = .error
var configuration = Coordinator.Configuration(rulePaths: [rules], pod: "bench")
configuration.settle = .zero
let queue = Queue()
let core = try await Coordinator(
    statePath: state + "/md.db", configuration: configuration, jobQueue: queue, logger: logger)
_ = try await core.addProject(directory: root, name: "bench", pod: nil)
for rule in ["cc", "link"] {
    try await core.register(
        RegisterRule(chefName: "bench", chefKind: "k", ruleName: rule, theRule: .init(dependencies: [], outputs: [])))
}
let sources = try FileManager.default.subpathsOfDirectory(atPath: root).filter {
    $0.hasSuffix(".c") || $0.hasSuffix(".h")
}
for path in sources { try await report(core, root, path, 0) }
let headers = sources.filter { $0.hasSuffix(".h") }.sorted()
let first = try await core.startBuild("bench", targets: [])
await drain(core, queue, round: 0)
guard try await core.build(first.id).build.state == .succeeded else { fail("the first build failed") }
var times: [Double] = []
var generator = SystemRandomNumberGenerator()
for round in 1...rounds {
    let header = headers.randomElement(using: &generator) ?? ""
    queue.firstArrival.withLock { $0 = nil }
    let started = ContinuousClock.now
    try await report(core, root, header, round)
    while queue.firstArrival.withLock({ $0 }) == nil { await Task.yield() }
    let arrival = queue.firstArrival.withLock { $0 } ?? started
    times.append((arrival - started).inSeconds * 1000)
    await drain(core, queue, round: round)
}
times.sort()
let median = times[times.count / 2]
let p99 = times[min(times.count - 1, Int(Double(times.count) * 0.99))]
print(String(format: "rounds %d median_ms %.2f p99_ms %.2f", rounds, median, p99))

/// The ingest measurement (see the header).
func ingest(url: String, socket: String, root: String, project: String, count: Int) async throws {
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let client = try await NATSClient.connect(
        NATSOptions(urls: [url], name: "bench-watch"), sender: Sender(pod: "bench", role: "watch", name: "bench"),
        logger: logger)
    let rest = RESTClient(RESTOptions(endpoint: .unixSocket(socket)))
    let started = ContinuousClock.now
    for index in 0..<count {
        let path = String(format: "f%06d.txt", index)
        let change = FileChange(
            reason: .created, root: root, path: path, exists: true, isDir: false, size: 1, mtime: 1,
            sha256: digest(path, 0), mode: 0o644)
        try client.publishNow(
            Subjects.fileChanged(.created, pod: "bench", path: path), change, messageID: "bench:\(index)")
    }
    try await client.flush()
    let published = ContinuousClock.now - started
    struct File: Decodable { var path: String }
    // The stream hands the changes over in order: the last one there means all were read.
    let last = String(format: "f%06d.txt", count - 1)
    while (try? await rest.get("/files/\(project)/\(last)", as: File.self)) == nil {
        try await Task.sleep(for: .milliseconds(20))
    }
    let applied = ContinuousClock.now - started
    let held = try await rest.get("/files/\(project)", as: [File].self).filter { $0.path.hasPrefix("f") }.count
    guard held == count else { fail("the MajorDomo holds \(held) of the \(count) changes") }
    print(String(format: "published_s %.3f applied_s %.3f", published.inSeconds, applied.inSeconds))
    try await client.drain()
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
