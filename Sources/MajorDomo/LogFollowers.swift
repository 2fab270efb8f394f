import Foundation

/// One line of a task's output, as `GET /builds/<id>/log?follow=true` streams it.
public struct LogLine: Codable, Sendable, Equatable {
    public var task: String
    public var line: String

    public init(task: String, line: String) {
        self.task = task
        self.line = line
    }
}

/// Whoever follows a running build's output: each gets the lines of its build (or of one
/// task) as the Chefs stream them, until the build ends. Used by the coordinator alone.
final class LogFollowers {
    private struct Follower {
        var build: String
        var task: String?
        var continuation: AsyncStream<LogLine>.Continuation
    }

    /// The most lines held for a follower that reads slower than the Chefs write.
    static let buffered = 100_000
    private var followers: [UUID: Follower] = [:]

    /// A stream that starts with `backlog` and goes on with the lines of `build` (only those
    /// of `task`, if given) until `end(build:)`.
    func follow(build: String, task: String?, backlog: [LogLine], onEnd: @escaping @Sendable (UUID) -> Void)
        -> AsyncStream<LogLine>
    {
        let key = UUID()
        let (stream, continuation) = AsyncStream.makeStream(
            of: LogLine.self, bufferingPolicy: .bufferingNewest(Self.buffered))
        for line in backlog { continuation.yield(line) }
        followers[key] = Follower(build: build, task: task, continuation: continuation)
        continuation.onTermination = { _ in onEnd(key) }
        return stream
    }

    /// `lines` of `task` in `build` arrived.
    func lines(_ lines: [String], of task: String, in build: String) {
        for follower in followers.values where follower.build == build && (follower.task ?? task) == task {
            for line in lines { follower.continuation.yield(LogLine(task: task, line: line)) }
        }
    }

    /// `build` ended: its followers' streams end.
    func end(build: String) {
        for (key, follower) in followers where follower.build == build {
            followers[key] = nil
            follower.continuation.finish()
        }
    }

    func remove(_ key: UUID) { followers[key] = nil }

    /// Ends every stream (the MajorDomo stops).
    func finishAll() {
        for follower in followers.values { follower.continuation.finish() }
        followers = [:]
    }
}
