import CPModel
import CPProtocol
import Chef
import Foundation
import Logging
import NATSClient
import RulesManager
import SFTPClient
import ServiceLifecycle

/// `cp chef`: the worker (DESIGN §7). Its rules, registered with the MajorDomo; jobs taken
/// from its kind's work queue whenever a slot of `-j` is free; each run by `JobExecutor` and
/// answered on `build.results.<jobId>`. Three services of one role group: heartbeats, its
/// presence (registrations, `build.howTo`, cancels) and the work loop, which stops first.
enum ChefCommand {
    @Sendable static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let settings = invocation.settings
        let logger = Logger(label: "cp.chef")
        let environment = ProcessInfo.processInfo.environment
        let rules: ChefRules
        do {
            rules = try ChefRules.load(try BundledRules.resolve(settings.values("rules").compactMap(\.text)))
        } catch {
            Output.error("chef", "\(error)")
            return .usage
        }
        let pod = settings.value("pod")?.text ?? ProcessInfo.processInfo.hostName
        let name = settings.value("name")?.text ?? pod
        let kind = settings.value("kind")?.text ?? rules.derivedKind
        let capacity = settings.value("jobs")?.integer ?? ProcessInfo.processInfo.activeProcessorCount
        let workDirectory = settings.value("work-dir")?.text ?? defaultWorkDirectory(environment)
        do {
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        } catch {
            Output.error("chef", "cannot make the work directory '\(workDirectory)': \(error.localizedDescription)")
            return .failure
        }
        let client = try await NATSClient.connect(
            NATSOptions(settings: settings, name: "cp-chef-\(name)"),
            sender: Sender(pod: pod, role: "chef", name: name),
            logger: logger)
        let role = ChefRole(
            ChefRole.Settings(
                name: name, pod: pod, kind: kind, capacity: capacity, workDirectory: workDirectory,
                timeout: settings.duration("timeout"), grace: settings.duration("grace"),
                heartbeat: settings.duration("heartbeat"), ssh: try SFTPCommand.options(settings),
                allowed: AllowedRoots(settings.values("allow").compactMap(\.text))),
            rules: rules, client: client, logger: logger)
        let interrupted = try await RoleGroup.run(role.services, logger: logger)
        await role.close()
        try? await client.drain()
        return interrupted ? .interrupted : .success
    }

    /// `$XDG_CACHE_HOME/computepods/chef`, by default `~/.cache/computepods/chef`.
    static func defaultWorkDirectory(_ environment: [String: String]) -> String {
        let base =
            environment["XDG_CACHE_HOME"].flatMap { $0.hasPrefix("/") ? $0 : nil }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.cache"
        return base + "/computepods/chef"
    }
}

/// A Chef's parts as services: heartbeats, its presence (registrations, `build.howTo`,
/// cancels) and the work loop, which stops first (`cp chef` runs them alone, `cp up` with the
/// other roles).
struct ChefRole {
    struct Settings {
        var name: String
        var pod: String
        var kind: String
        var capacity: Int
        var workDirectory: String
        var timeout: Duration
        var grace: Duration
        var heartbeat: Duration
        var ssh: SFTPOptions
        /// The project roots on this machine its jobs may name (`--allow`).
        var allowed = AllowedRoots([])
    }

    let services: [any Service]
    private let remote: SFTPWorkspace

    init(_ settings: Settings, rules: ChefRules, client: NATSClient, logger: Logger) {
        // Projects on other pods are mirrored by SFTP; one at the same path here is used as it is.
        let remote = SFTPWorkspace(settings: .init(workDirectory: settings.workDirectory, options: settings.ssh))
        let shared: any JobWorkspace = SharedWorkspace(allowed: settings.allowed)
        let pod = settings.pod
        let executor = JobExecutor(
            rules: rules,
            settings: .init(chef: settings.name, workDirectory: settings.workDirectory, timeout: settings.timeout)
        ) { job in job.source.sftp == nil || job.source.pod == pod ? shared : remote }
        let running = RunningJobs()
        let capacity = settings.capacity
        let presence = ChefPresence(
            client: client, rules: rules, chef: settings.name, kind: settings.kind, running: running)
        let heartbeat = HeartbeatService(client: client, interval: settings.heartbeat) {
            .init(running: running.count, capacity: capacity)
        }
        let work = ChefWork(
            client: client, executor: executor, kind: settings.kind, capacity: capacity, grace: settings.grace,
            running: running, logger: logger)
        logger.notice(
            "chef \(settings.name) serves \(rules.book.rules.count) rules on work queue '\(settings.kind)', \(capacity) job(s) at once"
        )
        self.remote = remote
        services = [heartbeat, presence, work]
    }

    /// Closes the SFTP sessions (once the services have stopped).
    func close() async { await remote.close() }
}
