import CPModel
import CPProtocol
import FSWatcher
import Foundation
import Logging
import NATSClient
import ServiceLifecycle
import Synchronization

/// `cp watch`: the FSWatcher library's changes on NATS as `fileChanged.<reason>.<pod>.<path>`
/// (or on stdout as JSON lines with `--print`), `watchRequest.<pod>` answered, heartbeats
/// (DESIGN §3, §8). SIGINT/SIGTERM: what is settling is reported, NATS drained, exit 130.
enum WatchCommand {
    @Sendable static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let settings = invocation.settings
        let logger = Logger(label: "cp.watch")
        var options = FileWatcher.Options()
        options.settle = settings.duration("settle")
        options.logGlobs = settings.values("log-glob").compactMap(\.text)
        options.ignoreGlobs = settings.values("ignore").compactMap(\.text)
        options.statePath = settings.value("state")?.text
        let roots = invocation.parsed.positionalValues("DIR").compactMap(\.text)
        let pod = settings.value("pod")?.text ?? ProcessInfo.processInfo.hostName
        // NATS first: a server that is not there is said before a long crawl, not after.
        var client: NATSClient?
        if !settings.flag("print") {
            switch await connect(pod: pod, settings: settings, logger: logger) {
            case .success(let connected): client = connected
            case .failure(.cannotConnect(let urls, let reason)):
                Output.error(
                    "watch",
                    "no NATS server at \(urls.joined(separator: ", ")) (\(reason)): give --nats-url URL, print the changes with --print, or run everything with 'cp up \(roots.first ?? "DIR")'"
                )
                return .failure
            case .failure(let error): throw error
            }
        }
        var service = WatchService(
            roots: roots, options: options, client: client, pod: pod,
            heartbeat: settings.duration("heartbeat"), logger: logger)
        service.allowed = AllowedRoots(settings.values("allow").compactMap(\.text))
        let interrupted = try await RoleGroup.run([service], logger: logger)
        return interrupted ? .interrupted : .success
    }

    private static func connect(pod: String, settings: ResolvedSettings, logger: Logger) async
        -> Result<NATSClient, NATSError>
    {
        let name = settings.value("name")?.text ?? pod
        let sender = Sender(pod: pod, role: "watch", name: name)
        do {
            return .success(
                try await NATSClient.connect(
                    NATSOptions(settings: settings, name: "cp-watch-\(name)"), sender: sender, logger: logger))
        } catch {
            return .failure(error)
        }
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A change as one line of `--print`.
    static func line(_ change: FileChange) throws -> String {
        String(decoding: try encoder.encode(change), as: UTF8.self)
    }
}

/// The watcher role as a service: watches the roots, then publishes every change (or prints
/// it) until a graceful shutdown, when what is settling is reported, the state written and
/// NATS drained.
struct WatchService: Service {
    let roots: [String]
    let options: FileWatcher.Options
    /// nil: `--print`.
    let client: NATSClient?
    let pod: String
    let heartbeat: Duration
    let logger: Logger
    /// Told how the publishing of the first crawl's reports goes (`cp up` waits for its
    /// MajorDomo to have read them); nil: nobody asks.
    var crawl: CrawlProgress? = nil
    /// The roots a watch request may name (`--allow`); the command line's are not checked.
    var allowed = AllowedRoots([])

    func run() async throws {
        let stopping = Stopping()
        try await withGracefulShutdownHandler {
            let watcher = try await start()
            guard stopping.attach(watcher) else {
                await watcher.stop()
                return
            }
            if let client {
                try await publish(watcher, client: client)
            } else {
                for await change in watcher.changes { Output.out(try WatchCommand.line(change) + "\n") }
            }
        } onGracefulShutdown: {
            stopping.stop()
        }
    }

    /// The watcher, once every directory is watched (logged), hashing still going on.
    private func start() async throws -> FileWatcher {
        let clock = ContinuousClock()
        let started = clock.now
        let (logger, crawl) = (logger, crawl)
        let watcher = try await FileWatcher.start(roots: roots, options: options, logger: logger) { summary in
            logger.notice("model complete: \(summary.files) files hashed in \(Self.seconds(clock.now - started)) s")
            crawl?.complete(reported: summary.reported)
        }
        let summary = watcher.summary
        if summary.unwatched > 0 {
            logger.warning(
                "watching \(summary.directories - summary.unwatched) of \(summary.directories) directories (see above)")
        } else {
            logger.notice(
                "watches established on \(summary.directories) directories (\(summary.files) files) in \(Self.seconds(clock.now - started)) s"
            )
        }
        return watcher
    }

    /// Publishes every change until the watcher stops, then drains the connection. Each change
    /// carries a `Nats-Msg-Id` (pod, this run, sequence), so a stream stores a re-sent one once.
    private func publish(_ watcher: FileWatcher, client: NATSClient) async throws {
        let allowed = self.allowed
        let requests = try client.serve(Subjects.watchRequest(pod: pod), as: WatchRequest.self) { request in
            guard allowed.allows(request.payload.root) else {
                throw WatchRefusal(description: "watch request refused: " + allowed.refusal(request.payload.root))
            }
            let watching = try await watcher.add(
                root: request.payload.root, logGlobs: request.payload.logGlobs,
                ignoreGlobs: request.payload.ignoreGlobs)
            return WatchReply(root: request.payload.root, watching: watching)
        }
        // The first heartbeat makes a MajorDomo ask for its projects: the requests' subscription
        // is at the server before it goes.
        try? await client.flush()
        let heartbeat = HeartbeatPublisher.start(client, interval: heartbeat, version: CommandLineTool.version)
        let ids = MessageIDs(pod: pod)
        // On the connection that writes at once: a change is what starts a build, and one
        // connection keeps the changes in order. A burst costs a write each (20,000 in ~0.1 s).
        for await change in watcher.changes {
            do {
                try client.publishNow(
                    Subjects.fileChanged(change.reason, pod: pod, path: change.path), change, messageID: ids.next())
            } catch {
                logger.error("cannot publish a change of '\(change.path)': \(error)")
            }
            crawl?.publishedOne()
        }
        crawl?.end()
        heartbeat.cancel()
        requests.cancel()
        try await client.drain()
    }

    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", duration.inSeconds)
    }

    /// The watcher to stop at a graceful shutdown, which may come before it exists.
    final class Stopping: Sendable {
        private let state = Mutex<(watcher: FileWatcher?, stopped: Bool)>((nil, false))

        /// Hands over the watcher; false if a shutdown came first (the caller stops it).
        func attach(_ watcher: FileWatcher) -> Bool {
            state.withLock { state in
                state.watcher = watcher
                return !state.stopped
            }
        }

        func stop() {
            let watcher = state.withLock { state in
                state.stopped = true
                return state.watcher
            }
            if let watcher { Task { await watcher.stop() } }
        }
    }
}

/// `Nats-Msg-Id`s for one run of a publisher: `<pod>:<run>:<sequence>`, the run being the start
/// time in microseconds, so a restarted publisher never repeats an id a stream still remembers.
final class MessageIDs: Sendable {
    private let prefix: String
    private let sequence = Atomic<UInt64>(0)

    init(pod: String, started: Date = Date()) {
        prefix = "\(pod):\(UInt64(started.timeIntervalSince1970 * 1_000_000)):"
    }

    func next() -> String { prefix + String(sequence.wrappingAdd(1, ordering: .relaxed).newValue) }
}

/// How far a watcher has come publishing its first crawl's reports, for one waiter (`cp up`'s
/// front, which then checks that the stream holds them and its MajorDomo has read them).
final class CrawlProgress: Sendable {
    private struct State {
        var published = 0
        /// How many reports the first crawl made, once it is complete.
        var reported: Int?
        /// Publishing ended (the watcher stopped).
        var ended = false
        var waiter: CheckedContinuation<Int?, Never>?

        /// What the waiter gets now, if it is time: the count, or nil once publishing ended.
        var answer: Int?? {
            if let reported, published >= reported { return .some(published) }
            return ended ? .some(nil) : nil
        }
    }
    private let state = Mutex(State())

    /// The crawl is complete, having reported `reported` changes.
    func complete(reported: Int) { change { $0.reported = reported } }

    func publishedOne() { change { $0.published += 1 } }

    func end() { change { $0.ended = true } }

    /// How many changes were published once all of the crawl's were; nil if publishing ended
    /// first or the task is cancelled.
    func wait() async -> Int? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiter in
                let answer = state.withLock { state -> Int?? in
                    if let answer = state.answer { return answer }
                    if Task.isCancelled { return .some(nil) }
                    state.waiter = waiter
                    return nil
                }
                if let answer { waiter.resume(returning: answer) }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume(returning: nil)
        }
    }

    private func change(_ body: (inout State) -> Void) {
        let ready = state.withLock { state -> (CheckedContinuation<Int?, Never>, Int?)? in
            body(&state)
            guard let waiter = state.waiter, let answer = state.answer else { return nil }
            state.waiter = nil
            return (waiter, answer)
        }
        if let (waiter, answer) = ready { waiter.resume(returning: answer) }
    }
}

/// Why a watch request is refused (the requester gets it as the failure's message).
struct WatchRefusal: Error, CustomStringConvertible {
    let description: String
}
