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

    /// Starts `jobID`; nil when it was cancelled already, or runs here already.
    func start(_ jobID: String) -> CommandRunner.Cancellation? {
        state.withLock { state in
            guard state.jobs[jobID] == nil, !state.cancelledEarly.contains(jobID) else { return nil }
            let cancellation = CommandRunner.Cancellation()
            state.jobs[jobID] = Entry(cancellation: cancellation)
            return cancellation
        }
    }

    /// Ends `jobID`; whether it was handed back.
    func finish(_ jobID: String) -> Bool {
        state.withLock { $0.jobs.removeValue(forKey: jobID)?.handedBack ?? false }
    }

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

    /// Whether `jobID` was cancelled before it came.
    func wasCancelled(_ jobID: String) -> Bool { state.withLock { $0.cancelledEarly.contains(jobID) } }

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
        let again = try client.subscribe(Subjects.registerTypesAgain)
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

/// The work loop: one job fetched at a time (PLATFORM.md: batches over 1 overflow in Debian's
/// libnats) and only while a slot of `-j` is free, so busy Chefs leave jobs to idle ones. A
/// running job is kept ours with in-progress acknowledgements every third of the ack wait;
/// its result goes into the results stream (`Nats-Msg-Id` = job id) before the job is
/// acknowledged. On a graceful stop nothing more is fetched; running jobs get `grace` to end,
/// then are killed and handed back (nak) for another Chef.
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
        let consumer = try await jetStream.pullConsumer(
            stream: WorkQueue.stream, durable: WorkQueue.consumer(of: kind), filter: Subjects.buildFrom(kind: kind))
        defer { consumer.close() }
        let ackWait = AckWait(client: client, consumer: WorkQueue.consumer(of: kind))
        await ackWait.refresh()
        let slots = Slots(capacity)
        await withGracefulShutdownHandler {
            // The MajorDomo may set other terms later (it makes the consumer its way).
            let refresher = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(10))
                    await ackWait.refresh()
                }
            }
            defer { refresher.cancel() }
            await withTaskGroup(of: Void.self) { group in
                while await slots.acquire() {
                    let message: JetStreamMessage
                    do {
                        guard let fetched = try await consumer.fetch(batch: 1, timeout: .seconds(1)).first else {
                            slots.release()
                            continue
                        }
                        message = fetched
                    } catch {
                        logger.warning("cannot fetch from the work queue: \(error)")
                        slots.release()
                        try? await Task.sleep(for: .seconds(1))
                        continue
                    }
                    guard !slots.isStopped else {
                        try? message.nak()
                        slots.release()
                        break
                    }
                    group.addTask {
                        await handle(message, jetStream: jetStream, ackWait: ackWait.value) { slots.release() }
                    }
                }
                // Stopping: the running jobs have `grace` to end.
                let deadline = Task {
                    try await Task.sleep(for: grace)
                    if running.count > 0 {
                        logger.notice("\(running.count) job(s) still running after \(grace): handed back")
                    }
                    running.handBackAll()
                }
                await group.waitForAll()
                deadline.cancel()
            }
        } onGracefulShutdown: {
            slots.stop()
        }
    }

    /// One job: decoded (a malformed body is reported on `failed.<subject>` and dropped), run,
    /// its result published, then acknowledged. Its slot is `done` once the command has ended:
    /// the next job may start while this one's result goes out.
    func handle(
        _ message: JetStreamMessage, jetStream: JetStream, ackWait: Duration, done: @escaping @Sendable () -> Void
    ) async {
        var released = false
        let release = {
            if !released { done() }
            released = true
        }
        defer { release() }
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
        guard let cancellation = running.start(job.jobId) else {
            if running.wasCancelled(job.jobId) {
                let result = JobResult(
                    jobId: job.jobId, result: .cancelled, exitCode: nil, elapsed: 0, details: "cancelled before it ran")
                if await publish(result, jetStream: jetStream) { try? message.ack() }
            }
            return  // a second delivery of a job running here: the first one answers
        }
        let keepAlive = Task {
            let interval = max(ackWait / 3, .milliseconds(100))
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                try? message.inProgress()
            }
        }
        let subject = Subjects.logger(project: job.project, task: job.task)
        let result = await executor.run(job, cancellation: cancellation) { lines in
            try? client.publish(subject, lines)
        }
        if running.finish(job.jobId) {
            keepAlive.cancel()
            try? message.nak()
            return
        }
        release()
        logger.info("job \(job.jobId) (\(job.task)): \(result.result.rawValue) in \(result.elapsed) s")
        let stored = await publish(result, jetStream: jetStream)
        keepAlive.cancel()
        if stored {
            do {
                try await message.ackSync()
            } catch {
                logger.warning(
                    "cannot acknowledge job \(job.jobId): \(error) (its result is in; a redelivery is ignored)")
            }
        } else {
            try? message.nak()
        }
    }

    static let decoder = JSONDecoder()
    static let encoder = JSONEncoder()

    /// Stores `result` in the results stream, trying a few times; false if it could not.
    func publish(_ result: JobResult, jetStream: JetStream) async -> Bool {
        guard let body = try? Self.encoder.encode(Envelope(sender: client.sender, payload: result)) else {
            return false
        }
        var pause = Duration.milliseconds(250)
        for attempt in 1...5 {
            do {
                _ = try await jetStream.publish(
                    Subjects.buildResults(jobId: result.jobId), Array(body), messageID: result.jobId)
                return true
            } catch {
                logger.warning("cannot publish the result of job \(result.jobId) (attempt \(attempt)): \(error)")
                try? await Task.sleep(for: pause)
                pause *= 2
            }
        }
        return false
    }
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
            let reply = try? await client.requestRaw("$JS.API.CONSUMER.INFO.\(WorkQueue.stream).\(consumer)", []),
            let nanoseconds = (try? JSONDecoder().decode(Info.self, from: Data(reply.payload)))?.config?.ack_wait,
            nanoseconds > 0
        else { return }
        current.withLock { $0 = .nanoseconds(nanoseconds) }
    }
}

/// The free slots of `-j`: the work loop takes one before each fetch and a job gives it back.
final class Slots: Sendable {
    struct State {
        var free: Int
        var stopped = false
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private let state: Mutex<State>

    init(_ capacity: Int) { state = Mutex(State(free: capacity)) }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Waits for a free slot and takes it; false once stopped. One caller at a time.
    func acquire() async -> Bool {
        await withCheckedContinuation { continuation in
            let answer = state.withLock { state -> Bool? in
                if state.stopped { return false }
                if state.free > 0 {
                    state.free -= 1
                    return true
                }
                state.waiter = continuation
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard let waiter = state.waiter, !state.stopped else {
                state.free += 1
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: true)
    }

    func stop() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.stopped = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: false)
    }
}
