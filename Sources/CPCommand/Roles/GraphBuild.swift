import ArtefactManager
import CPModel
import DependencyGraph
import Foundation
import Logging
import ProcessRunner
import RulesManager
import ServiceLifecycle
import Synchronization

/// `cp graph build`, `plan` and `why`: the scheduler with the local executor, its state in
/// `.cp/state.db` under the project (DESIGN §5, §9).
enum GraphBuild {
    /// The state file of a project.
    static func statePath(_ root: String) -> String { root + "/.cp/state.db" }

    /// The scheduler over the project's state, and its view of the files (whose digests are
    /// remembered in the same state file: `files.save()` when done).
    static func scheduler(_ project: Project, _ state: State, maxPasses: Int) async throws -> (
        Scheduler, DiskFileStates
    ) {
        let (store, files) = try await state.get()
        let scheduler = Scheduler(
            graph: project.graph, components: project.components, store: store, files: files, maxPasses: maxPasses)
        ProcessLifetime.keepUntilExit(scheduler)
        return (scheduler, files)
    }

    /// Builds the goals; prints progress and each failed task's output. 0 only when every
    /// goal is up to date. The build is a service of the role group: Ctrl-C (SIGINT/SIGTERM)
    /// kills every running task's process group, starts nothing new, and exits 130.
    static func build(_ project: Project, _ state: State, invocation: Invocation) async throws -> ExitStatus {
        // One build of a project at a time: two would run the same tasks over each other's files.
        let lock: PidLock
        do {
            lock = try PidLock(project.root + "/.cp/build.lock")
        } catch .held(let pid) {
            Output.error(
                "graph",
                "project '\(project.root)': another build of it is running\(pid.map { " (pid \($0))" } ?? ""); wait for it, or stop it"
            )
            return .failure
        } catch {
            Output.error("graph", "\(error)")
            return .failure
        }
        defer { withExtendedLifetime(lock) {} }
        let settings = invocation.settings
        let maxPasses = settings.integer("max-passes")
        let jobs = settings.value("jobs")?.integer ?? ProcessInfo.processInfo.activeProcessorCount
        let (scheduler, files) = try await scheduler(project, state, maxPasses: maxPasses)
        defer { try? files.save() }
        let total = scheduler.neededComponents.reduce(0) { $0 + project.components.members[$1].count }
        let reporter = BuildReporter(
            graph: project.graph, total: total, terminal: isatty(STDERR_FILENO) == 1 && !settings.flag("quiet"))
        let service = BuildService(
            scheduler: scheduler,
            executor: LocalExecutor(root: project.root, systemFiles: settings.flag("system-files")), jobs: jobs,
            reporter: reporter)
        let interrupted = try await RoleGroup.run([service], logger: Logger(label: "cp.graph"))
        reporter.clearLine()
        if interrupted { return .interrupted }
        let succeeded = service.succeeded
        for failure in scheduler.failures { Output.error("graph", "\(failure)") }
        Output.err("cp: graph: \(reporter.summary(succeeded: succeeded, scheduler, project.components))\n")
        return succeeded ? .success : .failure
    }
}

/// A build as a service: runs the scheduler with the executor until nothing is left; at a
/// graceful shutdown, cancels (running tasks are killed, nothing new starts).
final class BuildService: Service, @unchecked Sendable {
    private let scheduler: Scheduler
    private let executor: LocalExecutor
    private let jobs: Int
    private let reporter: BuildReporter
    private let cancellation = CommandRunner.Cancellation()
    private let result = Atomic<Bool>(false)

    init(scheduler: Scheduler, executor: LocalExecutor, jobs: Int, reporter: BuildReporter) {
        self.scheduler = scheduler
        self.executor = executor
        self.jobs = jobs
        self.reporter = reporter
    }

    /// Whether every task succeeded (once `run` has returned).
    var succeeded: Bool { result.load(ordering: .acquiring) }

    func run() async throws {
        let cancellation = cancellation
        let succeeded = await withGracefulShutdownHandler {
            await BuildDriver.run(
                scheduler, executor: executor, jobs: jobs, cancellation: cancellation, report: reporter.report)
        } onGracefulShutdown: {
            cancellation.cancel()
        }
        result.store(succeeded, ordering: .releasing)
    }
}

/// What `cp graph build` says while it runs: on a terminal one progress line (tasks done /
/// total, what runs with its pass), otherwise a line per task started with its reason; the
/// last 40 lines of each failed task's output; and the closing summary.
final class BuildReporter {
    private let graph: BuildGraph
    private let total: Int
    private let terminal: Bool
    private let started = ContinuousClock.now
    private var runs = 0
    private var finished = Set<Int32>()
    private var running: [Int32: String] = [:]  // task → its label

    init(graph: BuildGraph, total: Int, terminal: Bool) {
        self.graph = graph
        self.total = total
        self.terminal = terminal
    }

    func report(_ report: BuildDriver.Report) {
        switch report {
        case .started(let job):
            let label = job.pass > 1 ? "\(job.name) (pass \(job.pass))" : job.name
            running[job.task] = label
            if terminal {
                progress()
            } else {
                Output.err("cp: graph: run \(label) [\(graph.tasks[Int(job.task)].rule)]: \(job.reason)\n")
            }
        case .finished(let job, let outcome):
            runs += 1
            finished.insert(job.task)
            running[job.task] = nil
            progress()
            guard !outcome.succeeded else { return }
            clearLine()
            let how = outcome.timedOut ? "timed out" : "status \(outcome.status)"
            Output.err("cp: graph: task '\(job.name)' failed (\(how)); its output:\n")
            for line in outcome.lines.suffix(40) { Output.err("  \(line.text)\n") }
        }
    }

    /// Removes the progress line (on a terminal).
    func clearLine() {
        if terminal { Output.err("\r\u{1B}[K") }
    }

    /// "up to date (N tasks)" or "N task runs in S s", and the cycles that converged.
    func summary(succeeded: Bool, _ scheduler: Scheduler, _ components: Components) -> String {
        let cycles = scheduler.events.compactMap { event -> String? in
            guard case .converged(let component, let passes) = event else { return nil }
            let names = components.members[component].map { graph.tasks[Int($0)].name }.joined(separator: ", ")
            return "cycle of \(names) converged in \(passes) pass\(passes == 1 ? "" : "es")"
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        let what =
            runs == 0 && succeeded
            ? "up to date (\(total) tasks)"
            : "\(runs) task run\(runs == 1 ? "" : "s") in \(String(format: "%.1f", seconds)) s"
        return (succeeded ? "" : "failed: ") + ([what] + cycles).joined(separator: "; ")
    }

    private func progress() {
        guard terminal else { return }
        let now = running.isEmpty ? "" : " " + running.keys.sorted().compactMap { running[$0] }.joined(separator: ", ")
        Output.err("\r\u{1B}[K[\(finished.count)/\(total)]\(now)")
    }
}
