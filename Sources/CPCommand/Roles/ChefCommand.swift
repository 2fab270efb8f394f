import CPModel
import CPProtocol
import Chef
import Foundation
import Logging
import NATSClient
import RulesManager
import SFTPClient

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
        // Projects on other pods are mirrored by SFTP; one at the same path here is used as it is.
        let remote = SFTPWorkspace(
            settings: .init(workDirectory: workDirectory, options: try SFTPCommand.options(settings)))
        let shared: any JobWorkspace = SharedWorkspace()
        let executor = JobExecutor(
            rules: rules,
            settings: .init(chef: name, workDirectory: workDirectory, timeout: settings.duration("timeout"))
        ) { job in job.source.sftp == nil || job.source.pod == pod ? shared : remote }
        let running = RunningJobs()
        let presence = ChefPresence(client: client, rules: rules, chef: name, kind: kind, running: running)
        let heartbeat = HeartbeatService(client: client, interval: settings.duration("heartbeat")) {
            .init(running: running.count, capacity: capacity)
        }
        let work = ChefWork(
            client: client, executor: executor, kind: kind, capacity: capacity, grace: settings.duration("grace"),
            running: running, logger: logger)
        logger.notice(
            "chef \(name) serves \(rules.book.rules.count) rules on work queue '\(kind)', \(capacity) job(s) at once")
        let interrupted = try await RoleGroup.run([heartbeat, presence, work], logger: logger)
        await remote.close()
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
