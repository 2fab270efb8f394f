import CPModel
import CPProtocol
import Foundation
import Logging
import MajorDomo
import MajorDomoServer
import NATSClient
import ServiceLifecycle

/// `cp majordomo serve`: the coordinator's core with its state in `--state`, its NATS side
/// (registrations through JetStream, `registered.*`, watch requests, heartbeats) and its REST
/// API on a Unix socket and TCP, as services of one role group (DESIGN §6).
enum MajorDomoCommand {
    @Sendable static func serve(_ invocation: Invocation) async throws -> ExitStatus {
        let settings = invocation.settings
        let logger = Logger(label: "cp.majordomo")
        let environment = ProcessInfo.processInfo.environment
        guard let listen = settings.defaulted("listen").hostPort else { return .usage }
        let token = try settings.value("token-file")?.text.map(readToken)
        guard token != nil || isLoopback(listen.host) else {
            Output.error(
                "majordomo",
                "listening on \(listen) serves other machines: give --token-file FILE, or listen on 127.0.0.1")
            return .usage
        }
        let state = settings.value("state")?.text ?? defaultStateDirectory(environment)
        let lock: PidLock
        do {
            lock = try PidLock(state + "/majordomo.lock")
        } catch .held(let pid) {
            Output.error(
                "majordomo", "another MajorDomo uses the state in '\(state)'\(pid.map { " (pid \($0))" } ?? "")")
            return .failure
        } catch {
            Output.error("majordomo", "state '\(state)': \(error)")
            return .failure
        }
        defer { withExtendedLifetime(lock) {} }
        let pod = settings.value("pod")?.text ?? ProcessInfo.processInfo.hostName
        let name = settings.value("name")?.text ?? pod
        let client = try await NATSClient.connect(
            NATSOptions(settings: settings, name: "cp-majordomo-\(name)"),
            sender: Sender(pod: pod, role: "majordomo", name: name), logger: logger)
        let role = try await MajorDomoRole.start(
            MajorDomoRole.Settings(
                state: state, pod: pod,
                rulePaths: try BundledRules.resolve(settings.values("rules").compactMap(\.text)),
                settle: settings.duration("settle"), ackWait: settings.duration("ack-wait"),
                maxDeliver: settings.integer("max-deliver"),
                socket: settings.value("socket")?.text ?? defaultSocket(environment), host: listen.host,
                port: Int(listen.port), token: token, heartbeat: settings.duration("heartbeat")),
            client: client, logger: logger
        ) { address in logger.notice("listening on \(address)") }
        let interrupted = try await RoleGroup.run(role.services, logger: logger)
        try? await client.drain()
        return interrupted ? .interrupted : .success
    }

    /// The token in `path`: its text without the final newline; it must not be empty.
    static func readToken(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw MajorDomoError.badRequest("cannot read the token file '\(path)'")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw MajorDomoError.badRequest("the token file '\(path)' is empty") }
        return token
    }

    /// Whether `host` reaches this machine only.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// `$XDG_STATE_HOME/computepods`, by default `~/.local/state/computepods`.
    static func defaultStateDirectory(_ environment: [String: String]) -> String {
        let base =
            environment["XDG_STATE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state"
        return base + "/computepods"
    }

    /// `$XDG_RUNTIME_DIR/computepods/majordomo.sock`; without a runtime directory, one of this
    /// user's own under /tmp.
    static func defaultSocket(_ environment: [String: String]) -> String {
        let base =
            environment["XDG_RUNTIME_DIR"].flatMap { $0.hasPrefix("/") ? $0 + "/computepods" : nil }
            ?? "/tmp/computepods-\(getuid())"
        return base + "/majordomo.sock"
    }
}

/// The MajorDomo's parts, started and ready to run as services: the coordinator on its state,
/// its durable readers, heartbeats, the Chefs' presence and the REST listeners (`cp majordomo
/// serve` runs them alone, `cp up` with the other roles).
struct MajorDomoRole {
    struct Settings {
        var state: String
        var pod: String
        var rulePaths: [String]
        var settle: Duration
        var ackWait: Duration
        var maxDeliver: Int
        var socket: String?
        var host: String?
        var port: Int
        var token: String?
        var heartbeat: Duration
        /// Ask a (re)started watcher to watch its pod's projects (`cp up` gives its own its root).
        var rewatch = true
    }

    let coordinator: Coordinator
    /// In the order they start (the listeners and the event streams' closer last).
    let services: [any Service]

    /// Opens the state, makes sure of the streams and the work queue, resumes what a stop
    /// interrupted and asks every Chef to register again. `onListening` is told each address.
    static func start(
        _ settings: Settings, client: NATSClient, logger: Logger,
        onListening: @escaping @Sendable (String) -> Void
    ) async throws -> MajorDomoRole {
        var nats = MajorDomoNATS(client: client, logger: logger)
        nats.ackWait = settings.ackWait
        nats.maxDeliver = settings.maxDeliver
        var configuration = Coordinator.Configuration(rulePaths: settings.rulePaths, pod: settings.pod)
        configuration.settle = settings.settle
        configuration.rewatch = settings.rewatch
        let coordinator = try await Coordinator(
            statePath: settings.state + "/majordomo.db", configuration: configuration, watcher: nats, announcer: nats,
            jobQueue: nats, logger: logger)
        try await nats.prepareJobQueue()
        await coordinator.resumeInterruptedBuilds()
        let readers = [
            try await MajorDomoReaders.registrations(client, coordinator, logger: logger),
            try await MajorDomoReaders.changes(client, coordinator, logger: logger),
            try await MajorDomoReaders.results(client, coordinator, logger: logger),
        ]
        // Every Chef registers again, into the stream just made sure of.
        try client.publish(Subjects.registerTypesAgain, Empty())
        let router = MajorDomoRoutes.router(coordinator, token: settings.token, version: CommandLineTool.version)
        let listeners = try MajorDomoListeners.applications(
            router, socket: settings.socket, host: settings.host, port: settings.port, logger: logger,
            onListening: onListening)
        let services: [any Service] =
            [
                HeartbeatService(client: client, interval: settings.heartbeat),
                ChefListener(client: client, coordinator: coordinator),
                PoisonJobs(client: client, coordinator: coordinator, logger: logger),
                DurableReaders(readers: readers),
            ] + listeners + [EventStreamCloser(coordinator: coordinator)]
        return MajorDomoRole(coordinator: coordinator, services: services)
    }
}
