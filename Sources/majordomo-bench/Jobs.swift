import CPProtocol
import Foundation
import Hashing
import Logging
import NATSClient

/// bench/chef-*'s Swift side: the MajorDomo's end of the work queue without a MajorDomo.
///
///   majordomo-bench jobs NATS-URL KIND ROOT N
///     N jobs of rule `noop` (no inputs, no outputs) published on `build.from.KIND` as fast as
///     the stream takes them; waits for every result. Prints the publishing time, the time
///     until the last result, and the sum of the jobs' own run times (what the Chefs spent in
///     the command), in seconds.
///   majordomo-bench fetch NATS-URL KIND ROOT SFTP ROUNDS
///     One job of rule `noop` reading every `*.bin` under ROOT/in from pod `a` (SFTP address
///     SFTP) — fetched by a Chef of another pod — ROUNDS times with a fresh job id: the time
///     to each result, in seconds.
enum JobBench {
    /// The work-queue stream and KIND's consumer, a results stream, and a reader of it.
    struct Desk {
        let client: NATSClient
        let jetStream: JetStream
        let results: PushConsumer

        static func open(_ url: String, kind: String) async throws -> Desk {
            var logger = Logger(label: "bench")
            logger.logLevel = .error
            let client = try await NATSClient.connect(
                NATSOptions(urls: [url], name: "bench-desk"),
                sender: Sender(pod: "bench", role: "majordomo", name: "bench"), logger: logger)
            let jetStream = try JetStream(client.bulk)
            var jobs = StreamConfig(name: "CP_JOBS", subjects: [Subjects.buildFromAll])
            jobs.retention = .workQueue
            try await jetStream.createOrUpdateStream(jobs)
            try await jetStream.ensurePullConsumer(
                stream: "CP_JOBS", durable: "chef-" + SubjectToken.escape(kind), filter: Subjects.buildFrom(kind: kind),
                ackWait: .seconds(30), maxDeliver: 5)
            try await jetStream.createOrUpdateStream(
                StreamConfig(name: "CP_RESULTS", subjects: [Subjects.buildResultsAll]))
            let results = try await jetStream.pushConsumer(
                stream: "CP_RESULTS", durable: "bench-results", filter: Subjects.buildResultsAll,
                deliverSubject: "_BENCH.results", maxAckPending: 10_000)
            return Desk(client: client, jetStream: jetStream, results: results)
        }

        func publish(_ job: Job, kind: String) async throws {
            let body = try JSONEncoder().encode(Envelope(sender: client.sender, payload: job))
            _ = try await jetStream.publish(Subjects.buildFrom(kind: kind), Array(body), messageID: job.jobId)
        }
    }

    static func jobs(url: String, kind: String, root: String, count: Int) async throws {
        let desk = try await Desk.open(url, kind: kind)
        // Ids of this run's own: the streams drop a message id they saw in the last two minutes.
        let run = UInt32.random(in: 0...UInt32.max)
        let started = ContinuousClock.now
        let reader = Task { () -> (Duration, Double, Int) in
            var seen = Set<String>()
            var commandTime = 0.0
            var failed = 0
            for await message in desk.results {
                try? message.ack()
                guard let result = try? JSONDecoder().decode(Envelope<JobResult>.self, from: Data(message.payload))
                else { continue }
                guard seen.insert(result.payload.jobId).inserted else { continue }
                commandTime += result.payload.elapsed
                if result.payload.result != .succeeded { failed += 1 }
                if seen.count == count { break }
            }
            return (ContinuousClock.now - started, commandTime, failed)
        }
        for index in 0..<count {
            let job = Job(
                jobId: "j\(run)-\(index)", buildId: "bench", project: "bench", task: "t\(index)", rule: "noop",
                inputs: [:],
                outputs: [], source: .init(pod: "bench", root: root))
            try await desk.publish(job, kind: kind)
        }
        let published = ContinuousClock.now - started
        let (done, commandTime, failed) = await reader.value
        guard failed == 0 else { fail("\(failed) of the \(count) jobs failed") }
        print(
            String(
                format: "published_s %.3f done_s %.3f command_s %.3f", published.inSeconds, done.inSeconds, commandTime)
        )
        desk.results.close()
        try await desk.client.drain()
    }

    static func fetch(url: String, kind: String, root: String, sftp: String, rounds: Int) async throws {
        let desk = try await Desk.open(url, kind: kind)
        let files = try FileManager.default.contentsOfDirectory(atPath: root + "/in").filter { $0.hasSuffix(".bin") }
        var inputs: [String: String] = [:]
        for name in files { inputs["in/" + name] = try SHA256Hasher.hex(ofFileAt: root + "/in/" + name) }
        var times: [String] = []
        var iterator = desk.results.makeAsyncIterator()
        for round in 1...rounds {
            let job = Job(
                jobId: "fetch-\(UInt32.random(in: 0...UInt32.max))-\(round)", buildId: "bench", project: "bench",
                task: "fetch", rule: "noop",
                inputs: inputs, outputs: [], source: .init(pod: "a", sftp: sftp, root: root))
            let started = ContinuousClock.now
            try await desk.publish(job, kind: kind)
            while let message = await iterator.next() {
                try? message.ack()
                guard let result = try? JSONDecoder().decode(Envelope<JobResult>.self, from: Data(message.payload)),
                    result.payload.jobId == job.jobId
                else { continue }
                guard result.payload.result == .succeeded else {
                    fail("the fetch job failed: \(result.payload.details)")
                }
                break
            }
            times.append(String(format: "%.3f", (ContinuousClock.now - started).inSeconds))
        }
        print("round_s " + times.joined(separator: " "))
        desk.results.close()
        try await desk.client.drain()
    }
}
