import CPModel
import CPProtocol
import Chef
import DependencyGraph
import FSWatcher
import Foundation
import Hashing
import Logging
import MajorDomo
import NATSClient
import ProcessRunner
import RulesManager
import SFTPClient
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// `cp up`: the whole system on one machine, in one process (DESIGN §2, §10). A private
/// `nats-server` child with its JetStream store under `DIR/.cp/nats`, then, as services of one
/// role group: the MajorDomo (state in `DIR/.cp/majordomo`, its socket where `cp ctrl` finds
/// it from inside DIR), a Chef with the bundled rules, the watcher on DIR, and the front that
/// builds the project's targets once the MajorDomo knows every file, then reports each build
/// (`--once`: the first, and exits with its status).
enum UpCommand {
    @Sendable static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let settings = invocation.settings
        let logger = Logger(label: "cp.up")
        let given = invocation.parsed.positional("DIR")?.text ?? "."
        if settings.flag("once") && settings.flag("no-build") {
            Output.error("up", "--once builds once and exits; --no-build does not build: give one of them")
            return .usage
        }
        let root: String
        do {
            root = try projectRoot(given)
        } catch {
            Output.error("up", error.description)
            return .usage
        }
        guard let listen = settings.defaulted("listen").hostPort, MajorDomoCommand.isLoopback(listen.host) else {
            Output.error("up", "--listen must be a loopback address (127.0.0.1:PORT): 'cp up' serves this machine only")
            return .usage
        }
        let rulePaths: [String]
        let rules: ChefRules
        do {
            rulePaths = try BundledRules.resolve(settings.values("rules").compactMap(\.text))
            rules = try ChefRules.load(rulePaths)
        } catch {
            Output.error("up", "\(error)")
            return .usage
        }
        let lock: PidLock
        do {
            lock = try PidLock(root + "/.cp/up.lock")
        } catch .held(let pid) {
            Output.error("up", "another 'cp up' runs on '\(root)'\(pid.map { " (pid \($0))" } ?? "")")
            return .failure
        } catch {
            Output.error("up", "'\(root)': \(error)")
            return .failure
        }
        defer { withExtendedLifetime(lock) {} }
        var serverOptions = NATSServerProcess.Options(directory: root + "/.cp/nats")
        serverOptions.jetStream = true
        if let hub = settings.value("hub")?.hostPort {
            serverOptions.leafListen = hub.description
            serverOptions.domain = settings.defaulted("hub-domain").text
        }
        let server: NATSServerProcess
        do {
            server = try await NATSServerProcess.start(serverOptions)
        } catch {
            Output.error("up", "\(error)")
            return .failure
        }
        logger.info("nats-server \(server.pid) on \(server.url)")
        if let leafURL = server.leafURL, let domain = serverOptions.domain {
            Output.out("hub: leaf nodes join at \(leafURL); their roles use --nats-domain \(domain)\n")
        }
        let status: ExitStatus
        do {
            status = try await runRoles(
                Parts(
                    root: root, listen: listen, settings: settings, rulePaths: rulePaths, rules: rules,
                    server: server, logger: logger))
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        return status
    }

    /// What the roles are made of.
    struct Parts {
        let root: String
        let listen: HostPort
        let settings: ResolvedSettings
        let rulePaths: [String]
        let rules: ChefRules
        let server: NATSServerProcess
        let logger: Logger
        var pod: String { ProcessInfo.processInfo.hostName }
        var state: String { root + "/.cp" }
    }

    /// The roles as one group, until the front is done (`--once`) or a signal stops them.
    private static func runRoles(_ parts: Parts) async throws -> ExitStatus {
        let (settings, logger, pod) = (parts.settings, parts.logger, parts.pod)
        func connect(_ role: String) async throws -> NATSClient {
            var options = NATSOptions(urls: [parts.server.url], name: "cp-up-\(role)")
            options.jetStreamDomain = parts.server.options.domain
            return try await NATSClient.connect(
                options, sender: Sender(pod: pod, role: role, name: pod), logger: logger)
        }
        let clients = (majorDomo: try await connect("majordomo"), chef: try await connect("chef"))
        let watchClient = try await connect("watch")
        let socket = socketPath(for: parts.root)
        unlink(socket)  // one left by a 'cp up' that was killed: the lock is ours
        let majorDomo = try await MajorDomoRole.start(
            MajorDomoRole.Settings(
                state: parts.state + "/majordomo", pod: pod, rulePaths: parts.rulePaths,
                settle: .milliseconds(100), ackWait: .seconds(30), maxDeliver: 5, socket: socket,
                host: parts.listen.host, port: Int(parts.listen.port), token: nil, heartbeat: .seconds(10),
                rewatch: false),
            client: clients.majorDomo, logger: logger
        ) { address in
            if address.hasPrefix("http") { Output.out("open \(address)/\n") }
        }
        let coordinator = majorDomo.coordinator
        let project: String
        do {
            project = try await adopt(parts.root, pod: pod, sftp: settings.value("sftp")?.text, coordinator)
        } catch {
            Output.error("up", error.description)
            try? await clients.majorDomo.drain()
            return .failure
        }
        let chef = ChefRole(
            ChefRole.Settings(
                name: pod, pod: pod, kind: parts.rules.derivedKind,
                capacity: settings.value("jobs")?.integer ?? ProcessInfo.processInfo.activeProcessorCount,
                workDirectory: parts.state + "/chef", timeout: .seconds(3600), grace: .seconds(5),
                heartbeat: .seconds(10), ssh: SFTPOptions(knownHosts: NSHomeDirectory() + "/.ssh/known_hosts"),
                allowed: AllowedRoots([parts.root])),
            rules: parts.rules, client: clients.chef, logger: logger)
        var options = FileWatcher.Options()
        options.settle = settings.duration("settle")
        options.statePath = parts.state + "/watch.state"
        options.reportUnsaved = true
        options.logGlobs = Array(Set(parts.rules.book.types.values.filter(\.isLog).flatMap(\.extensions))).sorted()
        let crawl = CrawlProgress()
        var watch = WatchService(
            roots: [parts.root], options: options, client: watchClient, pod: pod, heartbeat: .seconds(10),
            logger: logger)
        watch.crawl = crawl
        watch.allowed = AllowedRoots([parts.root])
        let front = UpFront(
            coordinator: coordinator, project: project, root: parts.root, once: settings.flag("once"),
            buildAtStart: !settings.flag("no-build"),
            crawl: crawl, changes: try await ChangesReading(client: clients.majorDomo), logger: logger)
        let interrupted = try await RoleGroup.run(majorDomo.services + chef.services + [watch, front], logger: logger)
        await chef.close()
        // (The watcher's was drained as it stopped.)
        for client in [clients.chef, clients.majorDomo] { try? await client.drain() }
        if interrupted { return .interrupted }
        return front.status ?? .failure
    }

    /// The project in `root`, added to the MajorDomo if it is not there yet, with `sftp` as the
    /// address Chefs of other pods fetch it from. A private state holds this project alone:
    /// others (a copied `.cp`, a moved directory) are forgotten.
    private static func adopt(_ root: String, pod: String, sftp: String?, _ coordinator: Coordinator)
        async throws(MajorDomoError) -> String
    {
        for other in await coordinator.projectList() where other.root != root {
            try await coordinator.removeProject(other.name)
        }
        if let known = await coordinator.projectList().first(where: { $0.root == root }) {
            // Loaded as the MajorDomo started; a project that did not load is refused as on adding.
            if let problem = known.problem { throw .unprocessable(problem) }
            if known.sftp != sftp { try await coordinator.setSFTP(of: known.name, to: sftp) }
            return known.name
        }
        return try await coordinator.addProject(directory: root, name: nil, pod: pod, sftp: sftp, watch: false).name
    }

    /// Why a directory cannot be brought up.
    struct RootError: Error, CustomStringConvertible {
        let description: String
    }

    /// `given` as an absolute path without links; it must be a directory holding at least one
    /// `*.pyml` or `*.tyml`, or files to infer tasks from (a LaTeX document, a C program).
    static func projectRoot(_ given: String) throws(RootError) -> String {
        let root = URL(fileURLWithPath: given).standardizedFileURL.resolvingSymlinksInPath().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw RootError(description: "'\(given)' does not exist")
        }
        guard isDirectory.boolValue else { throw RootError(description: "'\(given)' is not a directory") }
        let files = DefinitionFiles.listFiles(root)
        guard
            files.contains(where: {
                DefinitionFiles.has($0, extension: "pyml") || DefinitionFiles.has($0, extension: "tyml")
            }) || !Inference.tasks(root: root, files: files).isEmpty
        else {
            throw RootError(
                description:
                    "'\(given)' holds no project or tasks file (*.pyml, *.tyml), no LaTeX document (a top-level .tex "
                    + "with \\documentclass) and no C program (a .c defining main): nothing to build"
            )
        }
        return root
    }

    /// The MajorDomo socket of a `cp up` on `root`: `root/.cp/majordomo.sock`, or, when that
    /// is too long for a socket's address (108 bytes), one named after the root's digest in
    /// this user's runtime directory.
    static func socketPath(for root: String) -> String {
        let beside = root + "/.cp/majordomo.sock"
        guard beside.utf8.count >= 100 else { return beside }
        // (No digest only if OpenSSL fails; the name must then still be the same in every process.)
        let digest = (try? SHA256Hasher.hex(of: Array(root.utf8))) ?? "root"
        let directory = (MajorDomoCommand.defaultSocket(ProcessInfo.processInfo.environment) as NSString)
            .deletingLastPathComponent
        return directory + "/up-\(digest.prefix(16)).sock"
    }

    /// The socket of a `cp up` whose directory is `directory` or holds it, if one is there.
    static func socket(around directory: String) -> String? {
        var current = URL(fileURLWithPath: directory).standardizedFileURL.path
        while true {
            let candidate = socketPath(for: current)
            var info = stat()
            if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK { return candidate }
            guard current != "/" else { return nil }
            current = (current as NSString).deletingLastPathComponent
        }
    }
}
