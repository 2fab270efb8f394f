import CNATS
import CPModel
import Synchronization

/// A durable push consumer, bound: the server sends its messages in order as they come (no
/// round trip per message, as a pull consumer's fetch has), each to be acknowledged within the
/// ack wait. The consumer is made with the management API and then bound, never made by the
/// subscription: libnats deletes a consumer its own `js_Subscribe` made when that subscription
/// ends, durable or not (nats.c `jsi->dc`), and the consumer must outlive the process.
public final class PushConsumer: AsyncSequence, @unchecked Sendable {
    public typealias Element = JetStreamMessage
    public let durable: String
    private let stream: AsyncStream<JetStreamMessage>
    private let subscription: SendableHandle
    private let closed = Atomic<Bool>(false)

    init(durable: String, stream: AsyncStream<JetStreamMessage>, subscription: SendableHandle) {
        self.durable = durable
        self.stream = stream
        self.subscription = subscription
    }

    deinit { close() }

    public func makeAsyncIterator() -> AsyncStream<JetStreamMessage>.Iterator { stream.makeAsyncIterator() }

    /// Ends this subscription; the consumer stays on the server with what is not acknowledged.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        natsSubscription_Destroy(subscription.pointer)
    }
}

/// Hands each delivered message, owned, to the consumer's stream.
final class JetStreamSink: MessageSink {
    let continuation: AsyncStream<JetStreamMessage>.Continuation

    init(_ continuation: AsyncStream<JetStreamMessage>.Continuation) { self.continuation = continuation }

    func deliver(_ message: OpaquePointer) { continuation.yield(JetStreamMessage(owning: message)) }

    func finish() { continuation.finish() }
}

extension JetStream {
    /// The durable push consumer `durable` on `stream` (made, if it does not exist, to send
    /// `filter`'s messages to `deliverSubject`, every one from the first, each to be acknowledged
    /// within `ackWait`, at most `maxAckPending` out at once), bound.
    public func pushConsumer(
        stream: String, durable: String, filter: String, deliverSubject: String, ackWait: Duration = .seconds(30),
        maxAckPending: Int = 1000
    ) async throws(NATSError) -> PushConsumer {
        let context = SendableHandle(pointer: self.context)
        try await addConsumer(stream: stream, durable: durable, filter: filter, ackWait: ackWait, update: false) {
            config, strings in
            config.DeliverSubject = strings(deliverSubject)
            config.MaxAckPending = Int64(maxAckPending)
        }
        let (messages, continuation) = AsyncStream.makeStream(of: JetStreamMessage.self)
        let box = SendableRawPointer(pointer: Unmanaged.passRetained(SinkBox(JetStreamSink(continuation))).toOpaque())
        let subscription = try await blockingCall("js-bind") { () throws(NATSError) -> SendableHandle in
            let strings = CStrings()
            var options = jsSubOptions()
            jsSubOptions_Init(&options)
            options.Stream = strings(stream)
            options.Consumer = strings(durable)
            options.ManualAck = true
            var subscription: OpaquePointer?
            var code = jsErrCode(0)
            let status = js_Subscribe(
                &subscription, context.pointer, filter, deliverMessage, box.pointer, nil, &options, &code)
            guard status == NATS_OK, let subscription else {
                Unmanaged<SinkBox>.fromOpaque(box.pointer).release()
                try Self.check(status, code, "binding to consumer '\(durable)' on '\(stream)'")
                throw .closed
            }
            natsSubscription_SetOnCompleteCB(subscription, subscriptionComplete, box.pointer)
            return SendableHandle(pointer: subscription)
        }
        return PushConsumer(durable: durable, stream: messages, subscription: subscription)
    }

    /// Deletes consumer `durable` of `stream`, if there is one.
    public func deleteConsumer(stream: String, durable: String) async {
        let context = SendableHandle(pointer: self.context)
        await blockingCall("js-delete-consumer") { () throws(Never) in
            var code = jsErrCode(0)
            _ = js_DeleteConsumer(context.pointer, stream, durable, nil, &code)
        }
    }
}

/// A pointer handed to libnats with the callback it belongs to.
struct SendableRawPointer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}
