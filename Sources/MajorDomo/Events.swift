import CPModel
import Foundation

/// One event of `GET /events` (Server-Sent Events): what changed in builds, tasks, files and
/// Chefs, numbered in order so a client that reconnects with `Last-Event-ID` misses nothing
/// the MajorDomo still holds.
public struct MajorDomoEvent: Sendable, Equatable {
    /// Build started or ended (data: `BuildSummary`), a task's run changed (`TaskEvent`), a
    /// project's files changed (`FilesEvent`), a Chef came or went (`ChefView`).
    public enum Kind: String, Sendable, CaseIterable { case build, task, files, chef }

    public var id: Int
    public var kind: Kind
    /// The event's JSON.
    public var data: String
}

/// A task's run within a build, as an event.
public struct TaskEvent: Codable, Sendable, Equatable {
    public var build: String
    public var project: String
    public var run: TaskRunView
}

/// Files of a project that changed, as an event (a burst of a watcher's reports is one
/// event; at most `FilesEvent.listed` paths are named).
public struct FilesEvent: Codable, Sendable, Equatable {
    public static let listed = 100
    public var project: String
    public var paths: [String]
    /// How many changed, listed or not.
    public var count: Int
}

/// What a subscriber of the events is handed: an event, or a tick when nothing happened for a
/// while (the HTTP side writes a keep-alive comment).
public enum EventDelivery: Sendable {
    case event(MajorDomoEvent)
    case keepAlive
}

/// The events still held (the last `capacity`, at most `byteCapacity` of their data) and the
/// subscribers. Used by the coordinator alone.
final class EventLog {
    static let capacity = 10_000
    /// So the memory they take stops growing early whatever their size (`bench/soak`).
    static let byteCapacity = 4 << 20
    private(set) var held: [MajorDomoEvent] = []
    private var heldBytes = 0
    private var next = 1
    /// The id of the newest event; 0 before the first.
    var lastID: Int { next - 1 }
    private var subscribers: [UUID: AsyncStream<EventDelivery>.Continuation] = [:]

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Numbers `value` as the next event of `kind`, keeps it and hands it to every subscriber.
    func emit(_ kind: MajorDomoEvent.Kind, _ value: some Encodable) {
        guard let data = try? Self.encoder.encode(value) else { return }
        let event = MajorDomoEvent(id: next, kind: kind, data: String(decoding: data, as: UTF8.self))
        next += 1
        held.append(event)
        heldBytes += event.data.utf8.count
        // Trimmed a quarter of a capacity at a time: one at a time moved every event held, per event.
        if held.count > Self.capacity + Self.capacity / 4 || heldBytes > Self.byteCapacity + Self.byteCapacity / 4 {
            var dropped = 0
            while held.count - dropped > Self.capacity || heldBytes > Self.byteCapacity {
                heldBytes -= held[dropped].data.utf8.count
                dropped += 1
            }
            held.removeFirst(dropped)
        }
        for subscriber in subscribers.values { subscriber.yield(.event(event)) }
    }

    /// The events after `lastID` that are still held, then every new one as it comes, with a
    /// keep-alive every `keepAlive` of quiet.
    func subscribe(after lastID: Int?, keepAlive: Duration, onEnd: @escaping @Sendable (UUID) -> Void)
        -> AsyncStream<EventDelivery>
    {
        let key = UUID()
        let (stream, continuation) = AsyncStream.makeStream(
            of: EventDelivery.self, bufferingPolicy: .bufferingNewest(Self.capacity))
        for event in held.suffix(Self.capacity) where event.id > (lastID ?? 0) { continuation.yield(.event(event)) }
        subscribers[key] = continuation
        let ticker = Task {
            while (try? await Task.sleep(for: keepAlive)) != nil { continuation.yield(.keepAlive) }
        }
        continuation.onTermination = { _ in
            ticker.cancel()
            onEnd(key)
        }
        return stream
    }

    func unsubscribe(_ key: UUID) { subscribers[key] = nil }

    /// Ends every subscription (the MajorDomo stops).
    func finishAll() {
        for subscriber in subscribers.values { subscriber.finish() }
        subscribers = [:]
    }
}
