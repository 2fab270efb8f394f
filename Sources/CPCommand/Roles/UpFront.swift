import CPProtocol
import Foundation
import Logging
import MajorDomo
import NATSClient
import RESTClient
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `cp up`'s front, the last service of its group: once the MajorDomo has read every file
/// the watcher's crawl reported, it builds the project's targets, then reports every build of
/// the project (progress on stderr, one summary line each on stdout). With `once` it ends
/// after the first build once nothing else is building, and so ends the group.
final class UpFront: Service, Sendable {
    let coordinator: Coordinator
    let project: String
    let root: String
    let once: Bool
    /// Whether to build once the crawl is read (`--no-build`: not until asked).
    let buildAtStart: Bool
    let crawl: CrawlProgress
    let changes: ChangesReading
    let logger: Logger
    private let outcome = Mutex<ExitStatus?>(nil)

    init(
        coordinator: Coordinator, project: String, root: String, once: Bool, buildAtStart: Bool,
        crawl: CrawlProgress, changes: ChangesReading, logger: Logger
    ) {
        self.buildAtStart = buildAtStart
        self.coordinator = coordinator
        self.project = project
        self.root = root
        self.once = once
        self.crawl = crawl
        self.changes = changes
        self.logger = logger
    }

    /// The status `--once` exits with (nil until its build has ended).
    var status: ExitStatus? { outcome.withLock { $0 } }

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            // Subscribed before the first build starts: none of its events is missed.
            let events = await self.coordinator.subscribe(after: nil)
            guard let published = await self.crawl.wait() else { return }
            try await self.changes.waitUntilRead(published)
            self.logger.info("the MajorDomo has read the \(published) file reports of the crawl")
            do {
                if self.buildAtStart {
                    _ = try await self.coordinator.startBuild(self.project, targets: [], trigger: "cp up")
                } else {
                    Output.err("cp: up: watching '\(self.root)'; nothing builds until asked (--no-build)\n")
                }
            } catch MajorDomoError.conflict {
                // A build resumed from an earlier run, or one of changes: it is followed.
            } catch {
                Output.error("up", "\(error)")
                self.outcome.withLock { $0 = .failure }
                return
            }
            try await self.report(events)
        }
    }

    /// Follows each build of the project through `events` until `once` is satisfied. Events
    /// may have been dropped while this fell behind (a large build's thousands of task
    /// events): a build seen only by its end is reported all the same.
    private func report(_ events: AsyncStream<EventDelivery>) async throws {
        let terminal = isatty(STDERR_FILENO) == 1
        var follower: (id: String, follower: BuildFollower)?
        for await delivery in events {
            guard case .event(let event) = delivery else { continue }
            let sent = ServerSentEvent(event: event.kind.rawValue, data: event.data, id: String(event.id))
            switch event.kind {
            case .task:
                if let current = follower { _ = current.follower.take(sent, of: current.id) }
            case .build:
                guard let build = try? JSONDecoder().decode(BuildSummary.self, from: Data(event.data.utf8)),
                    build.project == project
                else { continue }
                if build.state == .running {
                    if follower?.id != build.id {
                        follower = (build.id, BuildFollower(role: "up", terminal: terminal))
                        if !terminal { Output.err("cp: up: build \(build.id) started (\(build.trigger))\n") }
                    }
                    _ = follower?.follower.take(sent, of: build.id)
                    continue
                }
                let ended = follower?.id == build.id ? follower?.follower : nil
                follower = nil
                if try await finished(build, ended ?? BuildFollower(role: "up", terminal: terminal)) { return }
            case .files, .chef:
                continue
            }
        }
    }

    /// Reports build `ended`; true when `once` is satisfied (the status is set).
    private func finished(_ ended: BuildSummary, _ follower: BuildFollower) async throws -> Bool {
        guard let detail = try? await coordinator.build(ended.id) else { return false }
        await follower.report(detail) { task in try? await self.coordinator.log(ended.id, task: task) }
        let after =
            ended.changedFiles.map { " after " + Self.list($0, of: ended.changedCount ?? $0.count) + " changed" } ?? ""
        Output.out(BuildFollower.summary(detail) + after + "\n")
        guard once, try await settledAfter() else { return false }
        if ended.state == .succeeded { await printOutputs() }
        outcome.withLock { $0 = ended.state == .succeeded ? .success : .failure }
        return true
    }

    /// Whether nothing builds or waits to build (else another build follows, and its events
    /// are in the stream).
    private func settledAfter() async throws -> Bool {
        while true {
            if await coordinator.isIdle { return true }
            if await coordinator.runningBuild(of: project) != nil { return false }
            try await Task.sleep(for: .milliseconds(20))  // a change settling: a build or nothing follows
        }
    }

    /// The paths of the targets' outputs that exist, one a line.
    private func printOutputs() async {
        let outputs = ((try? await coordinator.targets(project)) ?? []).flatMap(\.outputs)
        for output in Set(outputs).sorted() {
            let path = root + "/" + output
            if FileManager.default.fileExists(atPath: path) { Output.out("built \(path)\n") }
        }
    }

    /// `a, b and 3 more`.
    static func list(_ paths: [String], of count: Int) -> String {
        let shown = paths.prefix(3).joined(separator: ", ")
        return count > 3 ? shown + " and \(count - 3) more" : shown
    }
}

/// Whether the MajorDomo has read the changes the watcher published: the `CP_CHANGES`
/// stream holds them all (its last sequence has grown by their count since `baseline`: no
/// flush of the publisher needed) and its consumer has none pending or unacknowledged.
struct ChangesReading: Sendable {
    let client: NATSClient
    /// The stream's last sequence before the watcher started.
    let baseline: UInt64

    init(client: NATSClient) async throws {
        self.client = client
        baseline = try await Self.lastSequence(client) ?? 0
    }

    private struct StreamInfo: Decodable {
        struct State: Decodable { var last_seq: UInt64 }
        var state: State
    }

    private struct ConsumerInfo: Decodable {
        var num_pending: UInt64
        var num_ack_pending: Int
    }

    private static func lastSequence(_ client: NATSClient) async throws -> UInt64? {
        let reply = try await client.requestRaw("\(client.bulk.jetStreamAPI).STREAM.INFO.CP_CHANGES", [])
        return (try? JSONDecoder().decode(StreamInfo.self, from: Data(reply.payload)))?.state.last_seq
    }

    /// Polls until the `published` changes are stored and read.
    func waitUntilRead(_ published: Int) async throws {
        while true {
            if let last = try await Self.lastSequence(client), last >= baseline + UInt64(published) {
                let reply = try await client.requestRaw(
                    "\(client.bulk.jetStreamAPI).CONSUMER.INFO.CP_CHANGES.md-changes", [])
                if let info = try? JSONDecoder().decode(ConsumerInfo.self, from: Data(reply.payload)),
                    info.num_pending == 0, info.num_ack_pending == 0
                {
                    return
                }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
