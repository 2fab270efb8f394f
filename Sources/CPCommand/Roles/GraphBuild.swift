import ArtefactManager
import CPModel
import DependencyGraph
import Foundation
import RulesManager

/// `cp graph build`, `plan` and `why`: the scheduler with the local executor, its state in
/// `.cp/state.db` under the project (DESIGN §5, §9).
enum GraphBuild {
    /// The state file of a project.
    static func statePath(_ root: String) -> String { root + "/.cp/state.db" }

    /// The scheduler over the project's state, and its view of the files (whose digests are
    /// remembered in the same state file: `files.save()` when done).
    static func scheduler(_ project: Project, _ state: State, maxPasses: Int) throws -> (Scheduler, DiskFileStates) {
        let (store, files) = try state.get()
        let scheduler = Scheduler(
            graph: project.graph, components: project.components, store: store, files: files, maxPasses: maxPasses)
        ProcessLifetime.keepUntilExit(scheduler)
        return (scheduler, files)
    }

    /// Builds the goals; prints progress and each failed task's output. 0 only when every
    /// goal is up to date.
    static func build(_ project: Project, _ state: State, invocation: Invocation) async throws -> ExitStatus {
        let lock: BuildLock
        do {
            lock = try BuildLock(project.root)
        } catch {
            Output.error("graph", "\(error)")
            return .failure
        }
        defer { withExtendedLifetime(lock) {} }
        let settings = invocation.settings
        let maxPasses = settings.value("max-passes")?.integer ?? 5
        let jobs = settings.value("jobs")?.integer ?? ProcessInfo.processInfo.activeProcessorCount
        let (scheduler, files) = try scheduler(project, state, maxPasses: maxPasses)
        defer { try? files.save() }
        let total = scheduler.neededComponents.reduce(0) { $0 + project.components.members[$1].count }
        let reporter = BuildReporter(
            graph: project.graph, total: total, terminal: isatty(STDERR_FILENO) == 1 && !settings.flag("quiet"))
        let cancellation = JobRunner.Cancellation()
        let signals = TerminationSignals { _ in cancellation.cancel() }
        defer { signals.cancel() }
        let succeeded = await BuildDriver.run(
            scheduler, executor: LocalExecutor(root: project.root), jobs: jobs, cancellation: cancellation,
            report: reporter.report)
        reporter.clearLine()
        if signals.signal != nil { return .interrupted }
        for failure in scheduler.failures { Output.error("graph", "\(failure)") }
        Output.err("cp: graph: \(reporter.summary(succeeded: succeeded, scheduler, project.components))\n")
        return succeeded ? .success : .failure
    }

    /// Each task the goals need, in build order, with what would happen to it; and the counts
    /// ("N tasks: N will run, N may run, N up to date"), for stderr.
    static func plan(_ project: Project, _ state: State, maxPasses: Int) throws -> (text: String, counts: String) {
        let (scheduler, files) = try scheduler(project, state, maxPasses: maxPasses)
        defer { try? files.save() }
        let needed = scheduler.neededComponents
        let verdicts = verdicts(project, scheduler, in: needed)
        let graph = project.graph
        var text = ""
        var cycleNumber = 0
        for component in needed {
            let members = project.components.members[component]
            if project.components.isCyclic[component] {
                cycleNumber += 1
                let through = graph.paths(project.components.feedback(component, in: graph)).joined(separator: ", ")
                text += "cycle \(cycleNumber) (passes until \(through) settle, at most \(maxPasses)):\n"
            }
            for task in members {
                let indent = project.components.isCyclic[component] ? "  " : ""
                let definition = graph.tasks[Int(task)]
                text +=
                    "\(indent)\(definition.name) [\(definition.rule)]: \(verdicts[task]?.description ?? "up to date")\n"
            }
        }
        let total = needed.reduce(0) { $0 + project.components.members[$1].count }
        let willRun = verdicts.values.filter { if case .willRun = $0 { true } else { false } }.count
        let counts =
            "\(total) task\(total == 1 ? "" : "s"): \(willRun) will run, \(verdicts.count - willRun) may run, "
            + "\(total - verdicts.count) up to date"
        return (text.isEmpty ? "nothing to build\n" : text, counts)
    }

    /// What a build would do to a task that is not up to date.
    enum Verdict: CustomStringConvertible {
        /// Out of date itself, for this reason.
        case willRun(String)
        /// Up to date now, but it reads what is rebuilt first (`by` that task), or its cycle runs.
        case mayRun(String, by: Int32)

        var description: String {
            switch self {
            case .willRun(let reason): return "will run: \(reason)"
            case .mayRun(let why, _): return "may run: \(why)"
            }
        }
    }

    /// What would happen to each task of `components` (given in build order; absent: nothing):
    /// a task whose inputs are made by a task that runs first may run too.
    static func verdicts(_ project: Project, _ scheduler: Scheduler, in components: [Int]) -> [Int32: Verdict] {
        var verdicts: [Int32: Verdict] = [:]
        let graph = project.graph
        for component in components {
            for task in project.components.members[component] {
                if let reason = scheduler.reason(task) {
                    verdicts[task] = .willRun(reason)
                } else if !verdicts.isEmpty,
                    let first = graph.prerequisites(of: task).lazy.map(\.task).first(where: {
                        verdicts[$0] != nil && $0 != task
                    })
                {
                    verdicts[task] = .mayRun(
                        "its inputs are rebuilt first (by '\(graph.tasks[Int(first)].name)')", by: first)
                }
            }
            // In a cycle, anything that runs may disturb the others.
            if project.components.isCyclic[component],
                let first = project.components.members[component].first(where: { verdicts[$0] != nil })
            {
                for task in project.components.members[component] where verdicts[task] == nil {
                    verdicts[task] = .mayRun("its cycle runs ('\(graph.tasks[Int(first)].name)' first)", by: first)
                }
            }
        }
        return verdicts
    }

    /// The chain of reasons `path` is out of date, or that it is up to date: from its producer
    /// up through what would be rebuilt first.
    static func why(_ path: String, _ project: Project, _ state: State, maxPasses: Int) throws -> (
        text: String, known: Bool
    ) {
        let graph = project.graph
        guard let artefact = graph.artefact(path) else {
            return ("'\(path)' is not in the graph (no task reads or writes it)", false)
        }
        let (scheduler, files) = try scheduler(project, state, maxPasses: maxPasses)
        defer { try? files.save() }
        let verdicts = verdicts(project, scheduler, in: Array(project.components.members.indices))
        var text = ""
        var current = artefact
        var visited = Set<Int32>()
        while true {
            let producer = graph.producer[Int(current)]
            let name = graph.artefacts[Int(current)]
            guard producer >= 0 else {
                text += "'\(name)' is a source file\(files.digest(name) == nil ? ", and it is missing" : "")\n"
                break
            }
            let task = graph.tasks[Int(producer)]
            guard visited.insert(producer).inserted else {
                text += "'\(name)' is made by '\(task.name)', in a cycle already explained above\n"
                break
            }
            switch verdicts[producer] {
            case nil:
                text += "'\(name)' is up to date (task '\(task.name)' [\(task.rule)])\n"
                return (text, true)
            case .willRun(let reason):
                text += "'\(name)' is out of date: task '\(task.name)' [\(task.rule)] will run: \(reason)\n"
                return (text, true)
            case .mayRun(_, let upstream):
                // The input it reads from the task that runs first (in a cycle: that task's output).
                let reads = task.dependencies + task.secondaryDependencies
                let made = graph.tasks[Int(upstream)].outputs
                guard let input = made.first(where: { reads.contains($0) }) ?? made.first else {
                    text += "'\(name)' may change: task '\(task.name)' \(verdicts[producer]!)\n"
                    return (text, true)
                }
                text +=
                    "'\(name)' may change: task '\(task.name)' reads '\(graph.artefacts[Int(input)])', which is rebuilt first\n"
                current = input
            }
        }
        return (text, true)
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
