import CNATS
import CPModel
import CPProtocol
import Foundation
import Logging

/// A role's connection to the NATS back-plane (DESIGN §3): JSON bodies in the `v`/`sender`
/// envelope, subscriptions as async sequences, request/reply, and `failed.<subject>` reports.
/// It holds two connections: `bulk` buffers publishes for throughput; `control` writes at
/// once (send-ASAP) for requests and replies, where latency matters.
public final class NATSClient: Sendable {
    public let sender: Sender
    public let bulk: NATSConnection
    public let control: NATSConnection
    let inbox: RequestInbox
    let logger: Logger

    private init(sender: Sender, bulk: NATSConnection, control: NATSConnection, inbox: RequestInbox, logger: Logger) {
        self.sender = sender
        self.bulk = bulk
        self.control = control
        self.inbox = inbox
        self.logger = logger
    }

    /// Connects both connections to the servers in `options`.
    public static func connect(
        _ options: NATSOptions, sender: Sender, logger: Logger
    ) async throws(NATSError) -> NATSClient {
        let bulk = try await NATSConnection.connect(options, logger: logger)
        var controlOptions = options
        controlOptions.name = options.name + "-control"
        controlOptions.sendAsap = true
        let control = try await NATSConnection.connect(controlOptions, logger: logger)
        let inbox = try RequestInbox(prefix: newInbox(), connection: control)
        return NATSClient(sender: sender, bulk: bulk, control: control, inbox: inbox, logger: logger)
    }

    /// Publishes `payload` in the envelope on `subject` (buffered, on `bulk`).
    public func publish<Payload: Encodable>(_ subject: String, _ payload: Payload) throws(NATSError) {
        try bulk.publish(subject, encode(payload, subject: subject))
    }

    /// Publishes `payload` on `control`, written at once: for messages whose latency matters
    /// more than the throughput of a burst (libnats' flusher holds a buffered publish for up to
    /// a millisecond).
    public func publishNow<Payload: Encodable>(_ subject: String, _ payload: Payload) throws(NATSError) {
        try control.publish(subject, encode(payload, subject: subject))
    }

    /// Publishes `payload` at once with a `Nats-Msg-Id` header, so a JetStream stream that
    /// captures `subject` stores it once however often it is re-sent.
    public func publishNow<Payload: Encodable>(_ subject: String, _ payload: Payload, messageID: String)
        throws(NATSError)
    {
        try control.publish(subject, encode(payload, subject: subject), headers: ["Nats-Msg-Id": messageID])
    }

    /// Subscribes to raw messages on `subject` (buffered connection).
    public func subscribe(_ subject: String, queue: String? = nil) throws(NATSError) -> NATSSubscription {
        try bulk.subscribe(subject, queue: queue)
    }

    /// Subscribes to `subject` and decodes each body as `Payload`. A malformed body is logged
    /// with its subject, reported on `failed.<subject>` and skipped, never a crash.
    public func messages<Payload: Decodable & Sendable>(
        _ subject: String, as type: Payload.Type, queue: String? = nil
    ) throws(NATSError) -> DecodedMessages<Payload> {
        DecodedMessages(subscription: try bulk.subscribe(subject, queue: queue), client: self)
    }

    /// Sends a request and waits for its reply, decoded as `Reply` (on `control`).
    public func request<Request: Encodable, Reply: Decodable>(
        _ subject: String, _ payload: Request, as type: Reply.Type, timeout: Duration = .seconds(5)
    ) async throws(NATSError) -> Envelope<Reply> {
        let body = try encode(payload, subject: subject)
        let reply = try await inbox.request(subject: subject, timeout: timeout) { (replyTo) throws(NATSError) in
            try control.publish(subject, body, replyTo: replyTo)
        }
        do throws(NATSError) {
            return try decode(reply, as: Reply.self)
        } catch {
            // A responder whose handler threw answers with a FailedMessage instead.
            if let failure = try? decode(reply, as: FailedMessage.self) {
                throw .call("request on '\(subject)'", status: "the responder failed", detail: failure.payload.error)
            }
            throw error
        }
    }

    /// Sends `body` as it is (no envelope) and returns the reply as it is: for the servers' own
    /// APIs (`$JS.API.…`), whose bodies are theirs.
    public func requestRaw(_ subject: String, _ body: [UInt8], timeout: Duration = .seconds(5)) async throws(NATSError)
        -> NATSMessage
    {
        try await inbox.request(subject: subject, timeout: timeout) { (replyTo) throws(NATSError) in
            try control.publish(subject, body, replyTo: replyTo)
        }
    }

    /// Answers requests on `subject` with `handler` until the returned task is cancelled or
    /// the connection closes. When the handler throws (or the request is malformed), the
    /// requester gets a `FailedMessage` and the failure goes to `failed.<subject>`.
    public func serve<Request: Decodable & Sendable, Reply: Encodable>(
        _ subject: String, queue: String? = nil, as type: Request.Type,
        _ handler: @escaping @Sendable (Envelope<Request>) async throws -> Reply
    ) throws(NATSError) -> Task<Void, Never> {
        let subscription = try control.subscribe(subject, queue: queue)
        return Task { [self] in
            for await message in subscription {
                guard !Task.isCancelled else { break }
                await answer(message, with: handler)
            }
        }
    }

    private func answer<Request: Decodable, Reply: Encodable>(
        _ message: NATSMessage, with handler: @Sendable (Envelope<Request>) async throws -> Reply
    ) async {
        do {
            let request = try decode(message, as: Request.self)
            let reply = try await handler(request)
            if let replyTo = message.replyTo { try control.publish(replyTo, encode(reply, subject: replyTo)) }
        } catch {
            let reason = (error as? NATSError)?.description ?? "\(error)"
            reportFailure(of: message, reason: reason)
            if let replyTo = message.replyTo,
                let body = try? encode(FailedMessage(origMsg: message.text, error: reason), subject: replyTo)
            {
                try? control.publish(replyTo, body)
            }
        }
    }

    /// Logs a message that could not be handled and reports it on `failed.<subject>`.
    public func reportFailure(of message: NATSMessage, reason: String) {
        logger.warning("cannot handle message", metadata: ["subject": "\(message.subject)", "error": "\(reason)"])
        let failure = FailedMessage(origMsg: message.text, error: reason)
        do {
            try bulk.publish("failed." + message.subject, encode(failure, subject: "failed." + message.subject))
        } catch {
            logger.error("cannot report the failure", metadata: ["subject": "\(message.subject)", "error": "\(error)"])
        }
    }

    /// Waits until the server has processed everything both connections published.
    public func flush(timeout: Duration = .seconds(10)) async throws(NATSError) {
        try await bulk.flush(timeout: timeout)
        try await control.flush(timeout: timeout)
    }

    /// Delivers what is in flight, sends what is buffered, and closes both connections.
    public func drain(timeout: Duration = .seconds(10)) async throws(NATSError) {
        try await bulk.drain(timeout: timeout)
        try await control.drain(timeout: timeout)
    }

    func encode<Payload: Encodable>(_ payload: Payload, subject: String) throws(NATSError) -> [UInt8] {
        do {
            return Array(try Self.encoder.encode(Envelope(sender: sender, payload: payload)))
        } catch {
            throw .call("encoding a message for '\(subject)'", status: "\(error)", detail: "")
        }
    }

    func decode<Payload: Decodable>(_ message: NATSMessage, as type: Payload.Type) throws(NATSError) -> Envelope<
        Payload
    > {
        do {
            return try Self.decoder.decode(Envelope<Payload>.self, from: Data(message.payload))
        } catch {
            throw .malformed(subject: message.subject, reason: DecodingProblem.describe(error))
        }
    }

    /// Shared coders: making one per message showed in request/reply profiles; both are
    /// Sendable and their options never change.
    private static let encoder = JSONEncoder()
    private static let decoder = JSONDecoder()

    private static func newInbox() -> String {
        var inbox: UnsafeMutablePointer<natsInbox>?
        guard natsInbox_Create(&inbox) == NATS_OK, let inbox else {
            return "_INBOX.cp\(UInt64.random(in: 1...UInt64.max))"
        }
        defer { natsInbox_Destroy(inbox) }
        return String(cString: inbox)
    }
}

/// A decoded message and its raw form.
public struct Received<Payload: Sendable>: Sendable {
    public let message: NATSMessage
    public let envelope: Envelope<Payload>
}

/// A subscription whose bodies are decoded; malformed ones are reported and skipped.
public struct DecodedMessages<Payload: Decodable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Received<Payload>
    let subscription: NATSSubscription
    let client: NATSClient

    public func makeAsyncIterator() -> Iterator {
        Iterator(raw: subscription.makeAsyncIterator(), client: client)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var raw: NATSSubscription.Iterator
        let client: NATSClient

        public mutating func next() async -> Received<Payload>? {
            while let message = await raw.next() {
                do {
                    return Received(message: message, envelope: try client.decode(message, as: Payload.self))
                } catch {
                    client.reportFailure(of: message, reason: error.description)
                }
            }
            return nil
        }
    }
}
