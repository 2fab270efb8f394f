import CPModel
import CPProtocol
import Chef
import Foundation
import Logging
import NATSClient
import ProcessRunner
import ServiceLifecycle
import Synchronization

/// The jobs a Chef runs now, by id: what a cancel kills, what a heartbeat counts, what a
/// graceful stop hands back.
final class RunningJobs: Sendable {
    struct Entry {
        let cancellation: CommandRunner.Cancellation
        /// The job as delivered: what in-progress acknowledgements go to.
        let message: JetStreamMessage
        /// Stopped because the Chef stops: handed back (nak), no result.
        var handedBack = false
    }

    struct State {
        var jobs: [String: Entry] = [:]
        /// Jobs cancelled before they came (a cancel can pass a job still in the queue).
        var cancelledEarly: [String] = []
    }

    private let state = Mutex(State())

    var count: Int { state.withLock { $0.jobs.count } }

    enum Start {
        /// Run it; this cancels it.
        case run(CommandRunner.Cancellation)
        /// A cancel came before the job did.
        case cancelledBefore
        /// A second delivery of a job running here: the first one answers.
        case runningAlready
    }

    /// Starts `jobID`, unless it was cancelled already or runs here already.
    func start(_ jobID: String, message: JetStreamMessage) -> Start {
        state.withLock { state in
            if state.jobs[jobID] != nil { return .runningAlready }
            if state.cancelledEarly.contains(jobID) { return .cancelledBefore }
            let cancellation = CommandRunner.Cancellation()
            state.jobs[jobID] = Entry(cancellation: cancellation, message: message)
            return .run(cancellation)
        }
    }

    /// Ends `jobID`; whether it was handed back.
    @discardableResult
    func finish(_ jobID: String) -> Bool {
        state.withLock { $0.jobs.removeValue(forKey: jobID)?.handedBack ?? false }
    }

    /// Whether `jobID` was killed to be handed back (the Chef stops).
    func wasHandedBack(_ jobID: String) -> Bool { state.withLock { $0.jobs[jobID]?.handedBack ?? false } }

    /// `build.cancel.<jobId>`: kills the job if it runs here, or remembers it for a while.
    func cancel(_ jobID: String) {
        let cancellation = state.withLock { state -> CommandRunner.Cancellation? in
            if let entry = state.jobs[jobID] { return entry.cancellation }
            state.cancelledEarly.append(jobID)
            if state.cancelledEarly.count > 1000 { state.cancelledEarly.removeFirst(500) }
            return nil
        }
        cancellation?.cancel()
    }

    /// Tells the server every running job is still at work (its ack wait starts again).
    func keepAlive() {
        for message in state.withLock({ $0.jobs.values.map(\.message) }) { try? message.inProgress() }
    }

    /// The grace period is over: every job still running is killed and handed back.
    func handBackAll() {
        let cancellations = state.withLock { state in
            state.jobs.keys.map { id -> CommandRunner.Cancellation in
                state.jobs[id]!.handedBack = true
                return state.jobs[id]!.cancellation
            }
        }
        for cancellation in cancellations { cancellation.cancel() }
    }
}

/// The Chef as the others see it: its types and rules on `register.*` at start and again
/// whenever the MajorDomo asks (`artefacts.registerTypes`), its answers to `build.howTo.<type>`,
/// and the cancels it obeys (`build.cancel.<jobId>`).
struct ChefPresence: Service {
    let client: NATSClient
    let rules: ChefRules
    let chef: String
    let kind: String
    let running: RunningJobs

    func run() async throws {
        let again = try client.messages(Subjects.registerTypesAgain, as: Empty.self)  // a malformed ask is reported
        let questions = try client.messages("build.howTo.>", as: HowTo.self)
        let cancels = try client.messages("build.cancel.>", as: JobCancel.self)
        try register()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in again.cancelOnGracefulShutdown() { try? register() }
            }
            group.addTask {
                for await question in questions.cancelOnGracefulShutdown() {
                    let token = question.message.subject.dropFirst("build.howTo.".count)
                    guard let type = SubjectToken.unescape(String(token)) else { continue }
                    for answer in rules.canFrom(question.envelope.payload, type: type, chef: chef) {
                        try? client.publish(Subjects.canFrom(type: type), answer)
                    }
                }
            }
            group.addTask {
                for await cancel in cancels.cancelOnGracefulShutdown() { running.cancel(cancel.envelope.payload.jobId) }
            }
        }
    }

    /// Every type and rule, on `register.types` and `register.rules`.
    func register() throws {
        for type in rules.typeRegistrations(chef: chef) { try client.publish(Subjects.register(.types), type) }
        for rule in rules.ruleRegistrations(chef: chef, kind: kind) {
            try client.publish(Subjects.register(.rules), rule)
        }
    }
}

/// The work: one thread per slot of `-j`, each with its own subscription to the kind's
/// durable pull consumer, fetching one job (PLATFORM.md: batches over 1 overflow in Debian's
/// libnats) only when it is idle — so busy Chefs leave jobs to idle ones — and taking it
/// through on that thread: run, result stored in the results stream (`Nats-Msg-Id` = job id),
/// acknowledged. No hop to another thread per job (the overhead that counts when jobs are
/// short, `bench/chef-overhead`). Running jobs are kept ours with in-progress
/// acknowledgements every third of the ack wait, and their output is flushed every 100 ms.
/// On a graceful stop nothing more is fetched; running jobs get `grace` to end, then are
/// killed and handed back (nak) for another Chef.
struct ChefWork: Service {
    let client: NATSClient
    let executor: JobExecutor
    let kind: String
    let capacity: Int
    let grace: Duration
    let running: RunningJobs
    let logger: Logger

    func run() async throws {
        let jetStream = try JetStream(client.bulk)
        try await WorkQueue.ensureStream(client)
        var consumers: [PullConsumer] = []
        defer { for consumer in consumers { consumer.close() } }  // after every slot's thread ended
        for _ in 0..<capacity {
            consumers.append(
                try await jetStream.pullConsumer(
                    stream: WorkQueue.stream, durable: WorkQueue.consumer(of: kind),
                    filter: Subjects.buildFrom(kind: kind)))
        }
        let ackWait = AckWait(client: client, consumer: WorkQueue.consumer(of: kind))
        await ackWait.refresh()
        let executor = self.executor
        let running = self.running
        // The MajorDomo may set other terms later (it makes the consumer its way).
        let ticker = Task {
            var sinceKeepAlive = Duration.zero
            var sinceRefresh = Duration.zero
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(100))
                executor.flushLogs()
                sinceKeepAlive += .milliseconds(100)
                sinceRefresh += .milliseconds(100)
                if sinceKeepAlive >= ackWait.value / 3 {
                    running.keepAlive()
                    sinceKeepAlive = .zero
                }
                if sinceRefresh >= .seconds(10) {
                    await ackWait.refresh()
                    sinceRefresh = .zero
                }
            }
        }
        defer { ticker.cancel() }
        let stopping = StopFlag()
        let deadline = Mutex<Task<Void, Never>?>(nil)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for (index, consumer) in consumers.enumerated() {
                    group.addTask {
                        await onThreadOfItsOwn("chef-slot-\(index)") {
                            slot(consumer, jetStream: jetStream, stopping: stopping)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            stopping.stop()
            let grace = self.grace
            let logger = self.logger
            deadline.withLock {
                $0 = Task {
                    guard (try? await Task.sleep(for: grace)) != nil else { return }
                    if running.count > 0 {
                        logger.notice("\(running.count) job(s) still running after \(grace): handed back")
                    }
                    running.handBackAll()
                }
            }
        }
        deadline.withLock { $0?.cancel() }
    }

    /// One slot: fetch a job when idle, take it through, until the Chef stops.
    func slot(_ consumer: PullConsumer, jetStream: JetStream, stopping: StopFlag) {
        while !stopping.isStopped {
            let message: JetStreamMessage
            do {
                guard let fetched = try consumer.fetchBlocking(batch: 1, timeout: .seconds(1)).first else { continue }
                message = fetched
            } catch {
                logger.warning("cannot fetch from the work queue: \(error)")
                Thread.sleep(forTimeInterval: 1)
                continue
            }
            guard !stopping.isStopped else {
                try? message.nak()
                return
            }
            handle(message, jetStream: jetStream)
        }
    }

    /// One job on the slot's thread: decoded (a malformed body is reported on
    /// `failed.<subject>` and dropped), run, its result stored, then acknowledged.
    func handle(_ message: JetStreamMessage, jetStream: JetStream) {
        let job: Job
        do {
            job = try Self.decoder.decode(Envelope<Job>.self, from: Data(message.payload)).payload
        } catch {
            client.reportFailure(
                of: NATSMessage(subject: message.subject, payload: message.payload),
                reason: DecodingProblem.describe(error))
            try? message.ack()
            return
        }
        let cancellation: CommandRunner.Cancellation
        switch running.start(job.jobId, message: message) {
        case .run(let started): cancellation = started
        case .runningAlready: return
        case .cancelledBefore:
            let result = JobResult(
                jobId: job.jobId, result: .cancelled, exitCode: nil, elapsed: 0, details: "cancelled before it ran")
            if publish(result, jetStream: jetStream) { try? message.ackSyncBlocking() }
            return
        }
        let subject = Subjects.logger(project: job.project, task: job.task)
        let client = self.client
        let result = executor.runBlocking(job, cancellation: cancellation) { lines in
            try? client.publish(subject, lines)
        }
        // The job stays in `running` until its result is stored and acknowledged, so its
        // in-progress acknowledgements go on while a cut link delays both.
        defer { running.finish(job.jobId) }
        if running.wasHandedBack(job.jobId) {
            try? message.nak()
            return
        }
        logger.info("job \(job.jobId) (\(job.task)): \(result.result.rawValue) in \(result.elapsed) s")
        if publish(result, jetStream: jetStream) {
            acknowledge(message, job: job.jobId)
        } else {
            try? message.nak()
        }
    }

    /// Acknowledges a job whose result is stored, trying again while the link is down (an
    /// acknowledgement whose confirmation was lost would otherwise bring the job back).
    func acknowledge(_ message: JetStreamMessage, job: String) {
        for attempt in 1...3 {
            do {
                try message.ackSyncBlocking()
                return
            } catch {
                logger.warning("cannot acknowledge job \(job) (attempt \(attempt)): \(error)")
            }
        }
        logger.warning(
            "job \(job) not acknowledged: its result is in, and a redelivery's result is dropped as a duplicate")
    }

    static let decoder = JSONDecoder()
    static let encoder = JSONEncoder()

    /// Stores `result` in the results stream, trying again for up to `resultPatience` (a link
    /// cut for a while; the job id as `Nats-Msg-Id` stores it once however often it is sent);
    /// false if it could not.
    func publish(_ result: JobResult, jetStream: JetStream) -> Bool {
        guard let body = try? Self.encoder.encode(Envelope(sender: client.sender, payload: result)) else {
            return false
        }
        let end = ContinuousClock.now + Self.resultPatience
        var pause = 0.25
        var attempt = 1
        while true {
            do {
                _ = try jetStream.publishBlocking(
                    Subjects.buildResults(jobId: result.jobId), Array(body), messageID: result.jobId)
                return true
            } catch {
                logger.warning("cannot publish the result of job \(result.jobId) (attempt \(attempt)): \(error)")
                guard ContinuousClock.now < end else { return false }
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 2)
                attempt += 1
            }
        }
    }

    /// How long a result is offered while the link is down.
    static let resultPatience = Duration.seconds(120)
}

/// The ack wait of the kind's consumer, as the server says (30 s until it has said).
final class AckWait: Sendable {
    let client: NATSClient
    let consumer: String
    private let current = Mutex<Duration>(.seconds(30))

    init(client: NATSClient, consumer: String) {
        self.client = client
        self.consumer = consumer
    }

    var value: Duration { current.withLock { $0 } }

    struct Info: Decodable {
        struct Config: Decodable { var ack_wait: Int64? }
        var config: Config?
    }

    func refresh() async {
        guard
            let reply = try? await client.requestRaw(
                "\(client.bulk.jetStreamAPI).CONSUMER.INFO.\(WorkQueue.stream).\(consumer)", []),
            let nanoseconds = (try? JSONDecoder().decode(Info.self, from: Data(reply.payload)))?.config?.ack_wait,
            nanoseconds > 0
        else { return }
        current.withLock { $0 = .nanoseconds(nanoseconds) }
    }
}

/// Set once, read from any thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isStopped: Bool { flag.load(ordering: .acquiring) }
    func stop() { flag.store(true, ordering: .releasing) }
}
