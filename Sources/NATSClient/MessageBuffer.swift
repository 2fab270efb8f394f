import CNATS
import Synchronization

/// The hand-over from libnats' delivery thread to one async consumer. Deliveries are
/// batched: the consumer takes everything pending in one lock (PLATFORM.md: one
/// continuation resumption per message reaches only ≈0.25× of a raw C callback). The
/// delivery thread only queues libnats' own message; the consumer copies it out and frees it,
/// so the thread libnats waits on does as little as possible.
/// Past `limit` pending messages, deliveries are dropped and counted, never blocking libnats.
final class MessageBuffer: Sendable {
    /// libnats messages, owned by the buffer until a consumer takes them.
    typealias Batch = [SendableHandle]

    private struct State {
        var pending: Batch = []
        var waiter: CheckedContinuation<Batch?, Never>?
        var finished = false
        var dropped = 0
    }

    private let state = Mutex(State())
    private let limit: Int
    /// Bumped on every delivery, so a consumer can watch for work without taking the lock.
    private let deliveries = Atomic<Int>(0)
    /// How long a consumer that ran dry watches for more before it suspends. Resuming a
    /// suspended consumer costs the delivery thread a wake-up of a pool thread; a short watch
    /// keeps a busy stream batched (bench/nats-throughput: receive 0.48× → 0.54–0.73× of a C
    /// callback, before the copy moved to the consumer).
    private static let watchBeforeSuspending: Duration = .microseconds(50)

    init(limit: Int) {
        self.limit = limit
    }

    deinit {
        state.withLock { state in state.pending.forEach { natsMsg_Destroy($0.pointer) } }
    }

    /// Called on libnats' delivery thread for every message; takes ownership of it.
    func deliver(_ message: OpaquePointer) {
        let handle = SendableHandle(pointer: message)
        var kept = true
        let waiter = state.withLock { state -> CheckedContinuation<Batch?, Never>? in
            if state.finished || state.pending.count >= limit {
                state.dropped += state.finished ? 0 : 1
                kept = false
                return nil
            }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending.append(handle)
            return nil
        }
        guard kept else { return natsMsg_Destroy(message) }
        deliveries.add(1, ordering: .releasing)
        waiter?.resume(returning: [handle])
    }

    /// No more messages will come; a waiting consumer gets the end of the sequence.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Messages waiting for the consumer.
    var count: Int { state.withLock { $0.pending.count } }

    /// Messages dropped because the consumer fell `limit` behind.
    var dropped: Int { state.withLock { $0.dropped } }

    /// Everything pending, waiting for at least one message; nil once finished and empty
    /// or when the consuming task is cancelled.
    func nextBatch() async -> Batch? {
        if let ready = takePending() { return ready }
        if let ready = watchForDeliveries() { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> Batch?? in
                    if !state.pending.isEmpty {
                        defer { state.pending = [] }
                        return .some(state.pending)
                    }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    /// Watches the delivery counter for a short while; returns what arrived, if anything.
    private func watchForDeliveries() -> Batch? {
        let seen = deliveries.load(ordering: .acquiring)
        let clock = ContinuousClock()
        let deadline = clock.now + Self.watchBeforeSuspending
        while clock.now < deadline {
            if deliveries.load(ordering: .acquiring) != seen { return takePending() }
        }
        return nil
    }

    private func takePending() -> Batch? {
        state.withLock { state in
            guard !state.pending.isEmpty else { return nil }
            defer { state.pending = [] }
            return state.pending
        }
    }
}
