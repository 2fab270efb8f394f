import CPProtocol
import Foundation
import Logging
import MajorDomo
import NATSClient
import ServiceLifecycle
import Synchronization

/// The MajorDomo's requests, announcements and jobs on NATS, for its core.
struct MajorDomoNATS: ProjectWatcher, RegistrationAnnouncer, JobQueue {
    /// The kinds whose consumer is made.
    let preparedKinds = SharedSet()
    /// The work-queue stream of jobs (`build.from.>`).
    static let jobStream = WorkQueue.stream

    let client: NATSClient
    let logger: Logger
    /// A job not acknowledged within `ackWait` goes to another Chef; one delivered
    /// `maxDeliver` times without a result is a poison job.
    var ackWait: Duration = .seconds(30)
    var maxDeliver = 5

    /// `watchRequest.<pod>`: the pod's watcher answers once it watches `root`.
    func watch(root: String, pod: String, logGlobs: [String]) async throws {
        let reply = try await client.request(
            Subjects.watchRequest(pod: pod), WatchRequest(root: root, logGlobs: logGlobs), as: WatchReply.self,
            timeout: .seconds(10))
        guard reply.payload.watching else { throw MajorDomoError.failure("the watcher of pod '\(pod)' is stopping") }
    }

    /// Makes sure the jobs' work-queue stream exists.
    func prepareJobQueue() async throws { try await WorkQueue.ensureStream(client) }

    /// `build.from.<kind>`, stored in the work queue; the job id is its `Nats-Msg-Id`, so a job
    /// sent again (after a lost acknowledgement) is stored once. While the server is away (a
    /// restart, a cut link) it is offered again for up to `queuePatience`, backing off to 2 s.
    func submit(_ job: Job, kind: String) async throws {
        let body = try JSONEncoder().encode(Envelope(sender: client.sender, payload: job))
        let end = ContinuousClock.now + Self.queuePatience
        var pause = Duration.milliseconds(250)
        while true {
            do {
                try await prepareConsumer(of: kind)
                _ = try await JetStream(client.bulk).publish(
                    Subjects.buildFrom(kind: kind), Array(body), messageID: job.jobId)
                return
            } catch {
                guard ContinuousClock.now < end, !Task.isCancelled else { throw error }
                logger.warning("cannot queue job \(job.jobId) (\(job.task)) yet: \(error); trying again")
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }

    /// How long a job is offered to a work queue that does not answer before its task fails.
    static let queuePatience = Duration.seconds(120)

    /// The durable consumer the Chefs of `kind` share, made by the MajorDomo before its first
    /// job so the queue's terms are its own: an acknowledgement within `ackWait` or the job goes
    /// to another Chef, and at most `maxDeliver` deliveries (then it is a poison job).
    func prepareConsumer(of kind: String) async throws {
        guard preparedKinds.withLock({ $0.insert(kind).inserted }) else { return }
        do {
            try await JetStream(client.bulk).ensurePullConsumer(
                stream: Self.jobStream, durable: Self.consumer(of: kind), filter: Subjects.buildFrom(kind: kind),
                ackWait: ackWait, maxDeliver: maxDeliver)
        } catch {
            preparedKinds.withLock { _ = $0.remove(kind) }
            throw error
        }
    }

    /// The durable consumer of the Chefs of `kind`.
    static func consumer(of kind: String) -> String { WorkQueue.consumer(of: kind) }

    /// `build.cancel.<jobId>` on core NATS: the Chef running it kills it.
    func cancel(_ jobID: String, reason: JobCancel.Reason) async {
        do {
            try client.publishNow(Subjects.buildCancel(jobId: jobID), JobCancel(jobId: jobID, reason: reason))
        } catch {
            logger.error("cannot cancel job '\(jobID)': \(error)")
        }
    }

    /// `registered.<what>` with every name.
    func announce(_ what: Subjects.Announcement, names: [String]) async {
        do {
            try client.publish(Subjects.registered(what), Registered(names: names))
        } catch {
            logger.error("cannot announce the registered \(what.rawValue): \(error)")
        }
    }
}

/// A JetStream stream read through a durable push consumer (DESIGN §3: nothing is lost while
/// the MajorDomo is down; the server sends the messages in order, no round trip each): each
/// message is handed to `handle` and acknowledged; one that does not decode or cannot be
/// applied is answered on `failed.<subject>` with one line, and dropped. It ends at a graceful
/// shutdown.
struct DurableReader: Service {
    let client: NATSClient
    let consumer: PushConsumer
    let logger: Logger
    let handle: @Sendable (JetStreamMessage) async throws -> Void

    /// Creates `stream` capturing `subjects` (interest retention: a message stays until the
    /// consumer has it) and the durable consumer `durable`, or finds them, and binds to it.
    /// `retired` is the pull consumer an earlier `cp` read the stream with: it is deleted, as
    /// it would hold every message for a reader that never comes.
    static func start(
        _ client: NATSClient, stream: String, subjects: [String], durable: String, retired: String, logger: Logger,
        handle: @escaping @Sendable (JetStreamMessage) async throws -> Void
    ) async throws -> DurableReader {
        let jetStream = try JetStream(client.bulk)
        var config = StreamConfig(name: stream, subjects: subjects)
        config.retention = .interest
        do {
            try await jetStream.createOrUpdateStream(config)
        } catch {
            throw MajorDomoError.failure(
                "the NATS server gives no JetStream (start nats-server with -js, or its 'jetstream' block): \(error)")
        }
        await jetStream.deleteConsumer(stream: stream, durable: retired)
        let consumer = try await jetStream.pushConsumer(
            stream: stream, durable: durable, filter: subjects.count == 1 ? subjects[0] : ">",
            deliverSubject: "_CP.deliver.\(durable)")
        return DurableReader(client: client, consumer: consumer, logger: logger, handle: handle)
    }

    func run() async throws {
        defer { consumer.close() }
        for await message in consumer.cancelOnGracefulShutdown() {
            do {
                try await handle(message)
            } catch {
                client.reportFailure(
                    of: NATSMessage(subject: message.subject, payload: message.payload),
                    reason: DecodingProblem.describe(error))
            }
            try message.ack()
        }
    }

    /// A message's body as `T`, in its envelope.
    static func decode<T: Decodable>(_ message: JetStreamMessage, as type: T.Type) throws -> Envelope<T> {
        try JSONDecoder().decode(Envelope<T>.self, from: Data(message.payload))
    }
}

/// Several readers as one service: they stop together at a graceful shutdown.
struct DurableReaders: Service {
    let readers: [DurableReader]

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for reader in readers { group.addTask { try await reader.run() } }
            try await group.waitForAll()
        }
    }
}

/// The MajorDomo's readers: registrations (`CP_REGISTER`, `register.>`) and file changes
/// (`CP_CHANGES`, `fileChanged.>`).
enum MajorDomoReaders {
    static func registrations(_ client: NATSClient, _ coordinator: Coordinator, logger: Logger) async throws
        -> DurableReader
    {
        try await DurableReader.start(
            client, stream: "CP_REGISTER", subjects: [Subjects.registerAll], durable: "md-register",
            retired: "majordomo-register", logger: logger
        ) { message in
            switch message.subject {
            case Subjects.register(.types):
                try await coordinator.register(try DurableReader.decode(message, as: RegisterType.self).payload)
            case Subjects.register(.rules):
                try await coordinator.register(try DurableReader.decode(message, as: RegisterRule.self).payload)
            case Subjects.register(.tasks):
                try await coordinator.register(try DurableReader.decode(message, as: RegisterTask.self).payload)
            default:
                // A project is added over REST, where its directory is checked (register.projects
                // carries no more than that would).
                throw MajorDomoError.badRequest(
                    "projects are added with POST /project/add (or 'cp ctrl project add'), not \(message.subject)")
            }
        }
    }

    static func changes(_ client: NATSClient, _ coordinator: Coordinator, logger: Logger) async throws
        -> DurableReader
    {
        try await DurableReader.start(
            client, stream: "CP_CHANGES", subjects: [Subjects.fileChangedAll], durable: "md-changes",
            retired: "majordomo-changes", logger: logger
        ) { message in
            let change = try DurableReader.decode(message, as: FileChange.self)
            try await coordinator.apply(change.payload, pod: change.sender.pod)
        }
    }
}

extension MajorDomoReaders {
    /// The Chefs' results (`CP_RESULTS`, `build.results.>`), each applied once.
    static func results(_ client: NATSClient, _ coordinator: Coordinator, logger: Logger) async throws
        -> DurableReader
    {
        try await DurableReader.start(
            client, stream: "CP_RESULTS", subjects: [Subjects.buildResultsAll], durable: "md-results",
            retired: "majordomo-results", logger: logger
        ) { message in
            let result = try DurableReader.decode(message, as: JobResult.self)
            await coordinator.finished(result.payload, chef: result.sender)
        }
    }
}

/// What the MajorDomo hears on core NATS (nothing there is kept by a stream): the Chefs'
/// heartbeats (who is alive, with what load), the watchers' (one that starts is asked to watch
/// its pod's projects) and the jobs' output lines.
struct ChefListener: Service {
    let client: NATSClient
    let coordinator: Coordinator

    func run() async throws {
        // Every role's (the coordinator heeds the Chefs' and the watchers').
        let beats = try client.messages("heartbeat.>", as: HeartbeatPayload.self)
        let logs = try client.messages("logger.>", as: LogLines.self)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await beat in beats.cancelOnGracefulShutdown() {
                    await coordinator.heartbeat(from: beat.envelope.sender, beat.envelope.payload)
                }
            }
            group.addTask {
                for await lines in logs.cancelOnGracefulShutdown() {
                    await coordinator.appendLog(lines.envelope.payload)
                }
            }
            group.addTask {
                // Chefs that fell silent are said to be gone.
                try? await cancelWhenGracefulShutdown {
                    while true {
                        try await Task.sleep(for: .seconds(5))
                        await coordinator.sweepChefs()
                    }
                }
            }
        }
    }
}

/// Ends the open event streams first at a graceful shutdown: a listener waits for every open
/// response to end before it stops.
struct EventStreamCloser: Service {
    let coordinator: Coordinator

    func run() async throws {
        try? await gracefulShutdown()
        await coordinator.endEventStreams()
    }
}

/// A set shared by copies of a value.
final class SharedSet: Sendable {
    private let members = Mutex<Set<String>>([])
    func withLock<T>(_ body: (inout Set<String>) -> T) -> T { members.withLock { body(&$0) } }
}

/// Poison jobs (DESIGN §3): a job delivered `maxDeliver` times without a result stays in the
/// work-queue stream forever, and the server's only word of it is the advisory
/// `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.CP_JOBS.<consumer>`. On it, the job is read from
/// the stream, removed, and its task failed.
struct PoisonJobs: Service {
    let client: NATSClient
    let coordinator: Coordinator
    let logger: Logger

    /// The advisory's fields used here.
    struct Advisory: Decodable {
        var stream_seq: UInt64
        var deliveries: Int
    }

    /// `$JS.API.STREAM.MSG.GET`'s answer.
    struct StoredMessage: Decodable {
        struct Message: Decodable { var data: String? }
        var message: Message?
    }

    func run() async throws {
        let advisories = try client.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.\(MajorDomoNATS.jobStream).>")
        for await message in advisories.cancelOnGracefulShutdown() {
            guard let advisory = try? JSONDecoder().decode(Advisory.self, from: Data(message.payload)) else { continue }
            do {
                try await remove(advisory)
            } catch {
                logger.error("cannot remove poison job \(advisory.stream_seq) from the queue: \(error)")
            }
        }
    }

    private func remove(_ advisory: Advisory) async throws {
        let stream = MajorDomoNATS.jobStream
        let sequence = Array(#"{"seq":\#(advisory.stream_seq)}"#.utf8)
        let stored = try await client.requestRaw("\(client.bulk.jetStreamAPI).STREAM.MSG.GET.\(stream)", sequence)
        let data = (try? JSONDecoder().decode(StoredMessage.self, from: Data(stored.payload)))?.message?.data
        _ = try await client.requestRaw("\(client.bulk.jetStreamAPI).STREAM.MSG.DELETE.\(stream)", sequence)
        guard let data, let body = Data(base64Encoded: data),
            let job = try? JSONDecoder().decode(Envelope<Job>.self, from: body)
        else { return }
        await coordinator.poisoned(jobID: job.payload.jobId, deliveries: advisory.deliveries)
    }
}

/// Heartbeats of a role on `heartbeat.<role>.<name>`, as a service.
struct HeartbeatService: Service {
    let client: NATSClient
    let interval: Duration
    /// The jobs running and the most that may (a Chef's load).
    var jobs: @Sendable () -> HeartbeatPayload.Jobs = { .init(running: 0, capacity: 0) }

    func run() async throws {
        let beats = HeartbeatPublisher.start(client, interval: interval, version: CommandLineTool.version, jobs: jobs)
        await withGracefulShutdownHandler {
            await beats.value
        } onGracefulShutdown: {
            beats.cancel()
        }
    }
}
