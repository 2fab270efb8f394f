import CNATS
import Synchronization

/// Request/reply over one inbox subscription (`<inbox>.*`) with a table of waiting callers,
/// instead of a subscription per request (PLATFORM.md: 1,000 concurrent requests in ~10 ms).
final class RequestInbox: Sendable {
    typealias Waiter = CheckedContinuation<NATSMessage, any Error>

    /// The callers waiting for a reply, by the token that ends their reply subject, with the
    /// time each gives up.
    private final class Waiters: Sendable {
        struct Entry {
            let waiter: Waiter
            let subject: String
            let deadline: ContinuousClock.Instant
        }

        let table = Mutex<[UInt64: Entry]>([:])

        func add(_ token: UInt64, _ entry: Entry) { table.withLock { $0[token] = entry } }
        var isEmpty: Bool { table.withLock { $0.isEmpty } }
        func take(_ token: UInt64) -> Waiter? { table.withLock { $0.removeValue(forKey: token) }?.waiter }

        /// Removes and returns the entries whose deadline has passed.
        func takeExpired(at now: ContinuousClock.Instant) -> [Entry] {
            table.withLock { table in
                let expired = table.filter { $0.value.deadline <= now }
                for token in expired.keys { table.removeValue(forKey: token) }
                return Array(expired.values)
            }
        }
    }

    /// How often waiting requests are checked against their deadlines: one sweeper for all
    /// requests instead of a timer task each (a task per request competed with the replies
    /// for the cooperative pool). With nothing waiting it sleeps until a request comes: an
    /// idle component does not wake 40 times a second.
    private static let sweepInterval: Duration = .milliseconds(25)

    let prefix: String
    private let waiters = Waiters()
    private let subscription = Mutex<SendableHandle?>(nil)
    private let counter = Atomic<UInt64>(0)
    private let sweeper: Task<Void, Never>
    /// Wakes an idle sweeper.
    private let kick: AsyncStream<Void>.Continuation

    /// Subscribes to `<prefix>.*` on `connection`. Replies are handed to their callers right
    /// on libnats' delivery thread, with no task hop in between.
    init(prefix: String, connection: NATSConnection) throws(NATSError) {
        self.prefix = prefix
        let waiters = self.waiters
        let (kicks, kick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.kick = kick
        sweeper = Task {
            var woken = kicks.makeAsyncIterator()
            while !Task.isCancelled {
                if waiters.isEmpty {
                    guard await woken.next() != nil else { return }
                    continue
                }
                try? await Task.sleep(for: Self.sweepInterval)
                for entry in waiters.takeExpired(at: .now) {
                    entry.waiter.resume(throwing: NATSError.timeout(subject: entry.subject))
                }
            }
        }
        let handle = try connection.subscribe(prefix + ".*", queue: nil, sink: self)
        subscription.withLock { $0 = SendableHandle(pointer: handle) }
    }

    deinit {
        kick.finish()
        sweeper.cancel()
        subscription.withLock { handle in
            guard let handle else { return }
            natsSubscription_Unsubscribe(handle.pointer)
            natsSubscription_Destroy(handle.pointer)
        }
    }

    /// Sends a request with `send(replySubject)` and waits for the reply or `timeout`.
    func request(
        subject: String, timeout: Duration, send: (String) throws(NATSError) -> Void
    ) async throws(NATSError) -> NATSMessage {
        let token = counter.wrappingAdd(1, ordering: .relaxed).newValue
        let waiters = self.waiters
        let deadline = ContinuousClock.now + timeout
        do {
            let reply = try await withCheckedThrowingContinuation { (continuation: Waiter) in
                waiters.add(token, .init(waiter: continuation, subject: subject, deadline: deadline))
                kick.yield()
                do {
                    try send("\(prefix).\(token)")
                } catch {
                    waiters.take(token)?.resume(throwing: error)
                }
            }
            if reply.isNoResponders { throw NATSError.noResponders(subject: subject) }
            return reply
        } catch let error as NATSError {
            throw error
        } catch {
            throw .closed
        }
    }
}

extension RequestInbox: MessageSink {
    func deliver(_ message: OpaquePointer) {
        defer { natsMsg_Destroy(message) }
        guard let subject = natsMsg_GetSubject(message) else { return }
        let tokenText = String(cString: subject).split(separator: ".").last
        guard let token = tokenText.flatMap({ UInt64($0) }), let waiter = waiters.take(token) else { return }
        waiter.resume(returning: NATSMessage(copying: message))
    }

    func finish() {}
}
