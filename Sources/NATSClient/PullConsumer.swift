import CNATS
import CPModel
import Synchronization

/// One subscription to a durable pull consumer. Several (in several processes) may share a
/// durable: the server hands each message to one of them (DESIGN §3: the work queue).
public final class PullConsumer: @unchecked Sendable {
    public let durable: String
    let jetStream: JetStream
    private let subscription: SendableHandle
    private let closed = Atomic<Bool>(false)

    init(jetStream: JetStream, subscription: SendableHandle, durable: String) {
        self.jetStream = jetStream
        self.subscription = subscription
        self.durable = durable
    }

    deinit { close() }

    /// Ends this subscription, leaving the durable consumer on the server (only the
    /// subscription goes). Call it before draining the connection: a pull subscription may
    /// hold a status message from its last fetch that nobody reads, and a drain waits for it
    /// (seen: every drain took its whole timeout). No fetch may run or follow.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        natsSubscription_Destroy(subscription.pointer)
    }

    /// Asks for up to `batch` messages and returns what arrives within `timeout`; an empty
    /// list when there was nothing.
    public func fetch(batch: Int = 1, timeout: Duration = .seconds(1)) async throws(NATSError) -> [JetStreamMessage] {
        try await blockingCall("js-fetch") { () throws(NATSError) -> [JetStreamMessage] in
            try self.fetchBlocking(batch: batch, timeout: timeout)
        }
    }

    /// `fetch` on the caller's thread, which it blocks: for a thread of the caller's own (never
    /// Swift's cooperative pool). One fetch at a time per subscription.
    public func fetchBlocking(batch: Int = 1, timeout: Duration = .seconds(1)) throws(NATSError) -> [JetStreamMessage] {
        let subscription = self.subscription
        do {
            var list = natsMsgList()
            var code = jsErrCode(0)
            let status = natsSubscription_Fetch(
                &list, subscription.pointer, Int32(batch), timeout.milliseconds, &code)
            if status == NATS_TIMEOUT { return [] }
            try JetStream.check(status, code, "fetching from a pull consumer")
            var messages: [JetStreamMessage] = []
            for index in 0..<Int(list.Count) {
                guard let message = list.Msgs[index] else { continue }
                list.Msgs[index] = nil  // ours now: natsMsgList_Destroy must not free it
                messages.append(JetStreamMessage(owning: message))
            }
            natsMsgList_Destroy(&list)
            return messages
        }
    }
}

/// A message from a JetStream consumer, to be acknowledged. It owns the libnats message,
/// which carries the reply subject acknowledgements go to.
public final class JetStreamMessage: @unchecked Sendable {
    public let subject: String
    public let payload: [UInt8]
    /// How many times the server has delivered this message (1 the first time).
    public let deliveries: UInt64
    /// The message's sequence number in its stream.
    public let streamSequence: UInt64
    private let message: OpaquePointer

    init(owning message: OpaquePointer) {
        self.message = message
        let copy = NATSMessage(copying: message)
        subject = copy.subject
        payload = copy.payload
        var metadata: UnsafeMutablePointer<jsMsgMetaData>?
        if natsMsg_GetMetaData(&metadata, message) == NATS_OK, let metadata {
            deliveries = metadata.pointee.NumDelivered
            streamSequence = metadata.pointee.Sequence.Stream
            jsMsgMetaData_Destroy(metadata)
        } else {
            deliveries = 0
            streamSequence = 0
        }
    }

    deinit { natsMsg_Destroy(message) }

    /// The payload as text.
    public var text: String { String(decoding: payload, as: UTF8.self) }

    /// Done: the server will not deliver it again (a work queue removes it).
    public func ack() throws(NATSError) {
        try NATSError.check(natsMsg_Ack(message, nil), "acknowledging a JetStream message")
    }

    /// Done, and confirmed: waits until the server has the acknowledgement (a work queue has
    /// removed the message), so a lost one is an error here rather than a second delivery later.
    public func ackSync(timeout: Duration = .seconds(5)) async throws(NATSError) {
        try await blockingCall("js-ack") { () throws(NATSError) in try self.ackSyncBlocking(timeout: timeout) }
    }

    /// `ackSync` on the caller's thread, which it blocks: for a thread of the caller's own.
    public func ackSyncBlocking(timeout: Duration = .seconds(5)) throws(NATSError) {
        let message = SendableHandle(pointer: self.message)
        do {
            var options = jsOptions()
            jsOptions_Init(&options)
            options.Wait = timeout.milliseconds
            var code = jsErrCode(0)
            try JetStream.check(
                natsMsg_AckSync(message.pointer, &options, &code), code, "acknowledging a JetStream message")
        }
    }

    /// Not done: deliver it again, to whoever asks next.
    public func nak() throws(NATSError) {
        try NATSError.check(natsMsg_Nak(message, nil), "refusing a JetStream message")
    }

    /// Still working on it: restarts the ack wait so it is not delivered to someone else.
    public func inProgress() throws(NATSError) {
        try NATSError.check(natsMsg_InProgress(message, nil), "extending a JetStream message's ack wait")
    }
}
