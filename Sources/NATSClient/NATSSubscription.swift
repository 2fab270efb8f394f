import CNATS
import Synchronization

/// A subscription, read as an `AsyncSequence` of messages. It ends when the subscription is
/// unsubscribed or drained, or the connection closes. One owner; the libnats handle never
/// leaves it.
public final class NATSSubscription: AsyncSequence, Sendable {
    public typealias Element = NATSMessage

    public let subject: String
    public let queue: String?
    private let handle: Mutex<SendableHandle?>
    let buffer: MessageBuffer

    init(subject: String, queue: String?, handle: OpaquePointer, buffer: MessageBuffer) {
        self.subject = subject
        self.queue = queue
        self.handle = Mutex(SendableHandle(pointer: handle))
        self.buffer = buffer
    }

    deinit {
        handle.withLock { handle in
            guard let handle else { return }
            natsSubscription_Unsubscribe(handle.pointer)
            natsSubscription_Destroy(handle.pointer)
        }
    }

    /// Messages dropped because this consumer fell behind: libnats' count plus the buffer's.
    public var dropped: Int {
        var libraryDropped: Int64 = 0
        handle.withLock { handle in
            if let handle { _ = natsSubscription_GetDropped(handle.pointer, &libraryDropped) }
        }
        return Int(libraryDropped) + buffer.dropped
    }

    /// Stops delivery at once; messages already received can still be read.
    public func unsubscribe() {
        handle.withLock { handle in
            if let handle { natsSubscription_Unsubscribe(handle.pointer) }
        }
    }

    /// Stops receiving new messages but delivers those already on their way, then ends.
    public func drain() throws(NATSError) {
        let status = handle.withLock { handle in handle.map { natsSubscription_Drain($0.pointer) } ?? NATS_OK }
        try NATSError.check(status, "natsSubscription_Drain")
    }

    public func makeAsyncIterator() -> Iterator { Iterator(owner: self) }

    /// Reads batches from the buffer and hands them out one message at a time, copying each
    /// out of libnats and freeing it.
    public struct Iterator: AsyncIteratorProtocol {
        /// Keeps the subscription alive while it is being read.
        let owner: NATSSubscription
        var batch = TakenBatch([])
        let subjects = SubjectCache()

        public mutating func next() async -> NATSMessage? {
            if batch.isEmpty {
                guard let next = await owner.buffer.nextBatch(), !next.isEmpty else { return nil }
                batch = TakenBatch(next)
            }
            return batch.takeNext(subjects: subjects)
        }
    }
}

/// A batch taken from a `MessageBuffer`; frees the messages nobody read when it goes away
/// (an iterator abandoned in the middle of a batch).
final class TakenBatch: @unchecked Sendable {
    private let handles: MessageBuffer.Batch
    private var index = 0

    init(_ handles: MessageBuffer.Batch) { self.handles = handles }

    deinit { handles[index...].forEach { natsMsg_Destroy($0.pointer) } }

    var isEmpty: Bool { index == handles.count }

    /// Copies out the next message and frees libnats' copy.
    func takeNext(subjects: SubjectCache) -> NATSMessage {
        let handle = handles[index]
        index += 1
        defer { natsMsg_Destroy(handle.pointer) }
        return NATSMessage(copying: handle.pointer, subjects: subjects)
    }
}

/// Where libnats' delivery thread puts a subscription's messages.
protocol MessageSink: AnyObject, Sendable {
    /// Called on the delivery thread for every message; the sink owns it and must destroy it.
    func deliver(_ message: OpaquePointer)
    /// Called once, after the last `deliver`.
    func finish()
}

extension MessageBuffer: MessageSink {}

/// Carries a sink through libnats' `void *` closure; retained by libnats until completion.
final class SinkBox: Sendable {
    let sink: any MessageSink

    init(_ sink: any MessageSink) { self.sink = sink }
}

/// libnats calls this on its delivery thread; it hands the message to the sink.
let deliverMessage: natsMsgHandler = { _, _, message, closure in
    guard let message, let closure else { return }
    Unmanaged<SinkBox>.fromOpaque(closure).takeUnretainedValue().sink.deliver(message)
}

/// Called once, after the last `deliverMessage`: ends the sink and releases the box libnats held.
let subscriptionComplete: natsOnCompleteCB = { closure in
    guard let closure else { return }
    Unmanaged<SinkBox>.fromOpaque(closure).takeRetainedValue().sink.finish()
}
