import CPProtocol
import Foundation
import Logging
import MajorDomo
import NATSClient
import ServiceLifecycle

/// The MajorDomo's requests and announcements on NATS, for its core.
struct MajorDomoNATS: ProjectWatcher, RegistrationAnnouncer {
    let client: NATSClient
    let logger: Logger

    /// `watchRequest.<pod>`: the pod's watcher answers once it watches `root`.
    func watch(root: String, pod: String, logGlobs: [String]) async throws {
        let reply = try await client.request(
            Subjects.watchRequest(pod: pod), WatchRequest(root: root, logGlobs: logGlobs), as: WatchReply.self,
            timeout: .seconds(10))
        guard reply.payload.watching else { throw MajorDomoError.failure("the watcher of pod '\(pod)' is stopping") }
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

/// The registrations the Chefs publish (`register.>`), captured by the JetStream stream
/// `CP_REGISTER` and read through the durable consumer `majordomo-register`, so those made
/// while the MajorDomo was down are read when it comes back. At start it asks every Chef to
/// register again (`artefacts.registerTypes`); it publishes heartbeats while it runs.
struct RegistrationService: Service {
    static let stream = "CP_REGISTER"
    static let durable = "majordomo-register"

    let client: NATSClient
    let coordinator: Coordinator
    let consumer: PullConsumer
    let heartbeat: Duration
    let logger: Logger

    /// Creates the stream and the consumer (or finds them), then asks the Chefs to register.
    static func start(_ client: NATSClient, _ coordinator: Coordinator, heartbeat: Duration, logger: Logger)
        async throws -> RegistrationService
    {
        let jetStream = try JetStream(client.bulk)
        var config = StreamConfig(name: stream, subjects: [Subjects.registerAll])
        config.retention = .interest
        do {
            try await jetStream.createOrUpdateStream(config)
        } catch {
            throw MajorDomoError.failure(
                "the NATS server gives no JetStream (start nats-server with -js, or its 'jetstream' block): \(error)")
        }
        let consumer = try await jetStream.pullConsumer(
            stream: stream, durable: durable, filter: Subjects.registerAll, ackWait: .seconds(30))
        try client.publish(Subjects.registerTypesAgain, Empty())
        return RegistrationService(
            client: client, coordinator: coordinator, consumer: consumer, heartbeat: heartbeat, logger: logger)
    }

    func run() async throws {
        let beats = HeartbeatPublisher.start(client, interval: heartbeat, version: CommandLineTool.version)
        defer {
            beats.cancel()
            consumer.close()
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            for message in try await consumer.fetch(batch: 1, timeout: .milliseconds(500)) {
                await handle(message)
                try message.ack()
            }
        }
    }

    /// Records one registration; a malformed one is reported on `failed.<subject>` and dropped.
    private func handle(_ message: JetStreamMessage) async {
        do {
            switch message.subject {
            case Subjects.register(.types): try await coordinator.register(try decode(message, as: RegisterType.self))
            case Subjects.register(.rules): try await coordinator.register(try decode(message, as: RegisterRule.self))
            default:
                // Tasks and projects registered by tools come with the builds (issue 13).
                logger.info("not handled yet: \(message.subject)")
            }
        } catch {
            client.reportFailure(
                of: NATSMessage(subject: message.subject, payload: message.payload),
                reason: DecodingProblem.describe(error))
        }
    }

    private func decode<T: Decodable>(_ message: JetStreamMessage, as type: T.Type) throws -> T {
        try JSONDecoder().decode(Envelope<T>.self, from: Data(message.payload)).payload
    }
}
