import CPModel
import FSWatcher
import Foundation
import Logging
import NATSClient

/// `cp watch`: the FSWatcher library's changes on NATS as `fileChanged.<reason>.<pod>.<path>`
/// (or on stdout as JSON lines with `--print`), `watchRequest.<pod>` answered, heartbeats
/// (DESIGN §3, §8). SIGINT/SIGTERM: what is settling is reported, NATS drained, exit 130.
enum WatchCommand {
    /// A `watchRequest.<pod>` body: a root to add, or the globs of a root already watched.
    struct WatchRequest: Codable, Sendable {
        var root: String
        var logGlobs: [String]?
        var ignoreGlobs: [String]?
    }

    struct WatchReply: Codable, Sendable {
        var root: String
        var watching: Bool
    }

    @Sendable static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let settings = invocation.settings
        let logger = Logger(label: "cp.watch")
        var options = FileWatcher.Options()
        if let settle = settings.value("settle")?.duration { options.settle = settle }
        options.logGlobs = settings.values("log-glob").compactMap(\.text)
        options.ignoreGlobs = settings.values("ignore").compactMap(\.text)
        options.statePath = settings.value("state")?.text
        let roots = invocation.parsed.positionalValues("DIR").compactMap(\.text)
        let pod = settings.value("pod")?.text ?? ProcessInfo.processInfo.hostName
        // NATS first: a server that is not there is said before a long crawl, not after.
        let client = settings.flag("print") ? nil : try await connect(pod: pod, settings: settings, logger: logger)
        let clock = ContinuousClock()
        let started = clock.now
        let watcher = try FileWatcher(roots: roots, options: options, logger: logger) { summary in
            logger.notice(
                "model complete: \(summary.files) files hashed in \(Self.seconds(clock.now - started)) s")
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
        let signals = TerminationSignals { _ in Task { await watcher.stop() } }
        defer { signals.cancel() }
        if let client {
            try await publish(watcher, client: client, pod: pod, settings: settings, logger: logger)
        } else {
            for await change in watcher.changes { Output.out(try Self.line(change) + "\n") }
        }
        return signals.signal == nil ? .success : .interrupted
    }

    private static func connect(pod: String, settings: ResolvedSettings, logger: Logger) async throws -> NATSClient {
        let name = settings.value("name")?.text ?? pod
        let sender = Sender(pod: pod, role: "watch", name: name)
        return try await NATSClient.connect(
            NATSOptions(settings: settings, name: "cp-watch-\(name)"), sender: sender, logger: logger)
    }

    /// Publishes every change until the watcher stops, then drains the connection.
    private static func publish(
        _ watcher: FileWatcher, client: NATSClient, pod: String, settings: ResolvedSettings, logger: Logger
    ) async throws {
        let interval = settings.value("heartbeat")?.duration ?? .seconds(10)
        let heartbeat = HeartbeatPublisher.start(client, interval: interval, version: CommandLineTool.version)
        let requests = try client.serve("watchRequest." + SubjectToken.escape(pod), as: WatchRequest.self) {
            request in
            let watching = try await watcher.add(
                root: request.payload.root, logGlobs: request.payload.logGlobs,
                ignoreGlobs: request.payload.ignoreGlobs)
            return WatchReply(root: request.payload.root, watching: watching)
        }
        // On the connection that writes at once: a change is what starts a build, and one
        // connection keeps the changes in order. A burst costs a write each (20,000 in ~0.1 s).
        for await change in watcher.changes {
            do {
                try client.publishNow(subject(change, pod: pod), change)
            } catch {
                logger.error("cannot publish a change of '\(change.path)': \(error)")
            }
        }
        heartbeat.cancel()
        requests.cancel()
        try await client.drain()
    }

    /// `fileChanged.<reason>.<pod>.<path tokens>`; the root itself is the token `%`.
    static func subject(_ change: FileChange, pod: String) -> String {
        let path = change.path.isEmpty ? "%" : SubjectToken.escape(path: change.path)
        return "fileChanged.\(change.reason.rawValue).\(SubjectToken.escape(pod)).\(path)"
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func line(_ change: FileChange) throws -> String {
        String(decoding: try encoder.encode(change), as: UTF8.self)
    }

    private static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", duration.inSeconds)
    }
}
