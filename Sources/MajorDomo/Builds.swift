import CPProtocol
import DependencyGraph
import Foundation

/// Puts jobs on the work queue Chefs take them from (`build.from.<kind>` on NATS), and tells
/// the Chef running one to stop (`build.cancel.<jobId>`).
public protocol JobQueue: Sendable {
    /// Queues `job` for the Chefs of `kind`; returns once the queue has stored it.
    func submit(_ job: Job, kind: String) async throws
    /// Asks whoever runs job `jobID` to stop it.
    func cancel(_ jobID: String, reason: JobCancel.Reason) async
}

/// Where a build is.
public enum BuildState: String, Codable, Sendable, CaseIterable {
    case queued, running, succeeded, failed, cancelled
}

/// Where one task of a build is.
public enum TaskState: String, Codable, Sendable, CaseIterable {
    /// No Chef offers its rule yet: it runs once one registers.
    case waiting
    /// On the work queue, or with a Chef.
    case running
    case succeeded
    case failed
    /// Out with a Chef when its build was cancelled.
    case cancelled
}

/// A task's run within a build, as `GET /builds/<id>` shows it.
public struct TaskRunView: Codable, Sendable, Equatable {
    public var task: String
    public var rule: String
    public var state: TaskState
    /// The pass of its cycle (1 outside cycles).
    public var pass: Int
    /// Why it runs ("never built", "input 'paper.aux' changed"), or what it waits for.
    public var reason: String
    public var jobId: String?
    /// The Chef that ran it.
    public var chef: String?
    public var exitCode: Int32?
    /// Seconds it took.
    public var elapsed: Double?
    /// How it failed, in one line.
    public var detail: String?
    /// When (seconds since the epoch) it was put on the work queue, when it started (its
    /// first output line, or its end less its elapsed time) and when its result came.
    public var queued: Double? = nil
    public var started: Double? = nil
    public var ended: Double? = nil
}

/// A build as `GET /builds` lists it.
public struct BuildSummary: Codable, Sendable, Equatable {
    public var id: String
    public var project: String
    /// The targets asked for (empty: every target).
    public var targets: [String]
    /// What started it: "request" (REST), later "change".
    public var trigger: String
    public var state: BuildState
    /// Seconds since the epoch.
    public var created: Double
    public var finished: Double?
    /// How many jobs it sent to Chefs.
    public var jobs: Int
    /// How many tasks it considers: those of the components its goals need, as far as its
    /// changes reach (at most that many run, each cycle's tasks once per pass). Absent in
    /// builds recorded before it was kept.
    public var considered: Int?
    /// What failed, one line each (a task, a cycle that did not converge).
    public var failures: [String]
    /// A build of changes: the files whose change started it, sorted, the first
    /// `BuildSummary.listed` of them, and how many there were.
    public var changedFiles: [String]? = nil
    public var changedCount: Int? = nil
    /// Its cyclic components, their passes and how each ended (absent: none, or a build
    /// recorded before it was kept).
    public var cycles: [Scheduler.CycleProgress]? = nil

    /// How many changed files a summary names.
    public static let listed = 20
}

/// A build with its tasks, as `GET /builds/<id>` shows it.
public struct BuildDetail: Codable, Sendable, Equatable {
    public var build: BuildSummary
    /// Every task that ran, runs or waits, in the order it was first sent.
    public var tasks: [TaskRunView]
}

/// One build of a project: its scheduler (DESIGN §5: only what the goals need, cycles in
/// passes), the jobs out with Chefs, and each task's run. Used by the coordinator alone.
final class BuildRun {
    let id: String
    let project: String
    let targets: [String]
    let trigger: String
    let created = Date().timeIntervalSince1970
    let scheduler: Scheduler
    let files: ReportedFileStates
    let considered: Int
    var state: BuildState = .running
    var finished: Double?
    /// Jobs with Chefs, by job id.
    var inFlight: [String: Scheduler.Job] = [:]
    /// Jobs no Chef can take yet (no Chef offers their rule).
    var waiting: [Scheduler.Job] = []
    var runs: [String: TaskRunView] = [:]
    /// The tasks in the order they were first noted, and each one's place in it.
    var order: [String] = []
    var position: [String: Int] = [:]
    var jobCount = 0
    /// The artefacts whose change it builds; nil: it checks every task.
    var changed: [Int32]?
    /// The files whose change started it (a build of changes).
    var changedPaths: [String] = []
    /// Newer changes came: no new job goes out, and once those out are back it ends, cancelled.
    var superseded = false
    /// The user cancelled it.
    var cancelledByUser = false
    /// The project's sources with their digests, for the context of a task's first run on a
    /// Chef that mirrors the project (made once, at the first such job).
    var sources: [String: String]?
    /// Each task's output lines as its Chef streamed them, and their size.
    var logs: [String: [String]] = [:]
    var logBytes: [String: Int] = [:]
    /// The most output kept of one task in one build; past it, lines are counted, not kept.
    static let logLimit = 1 << 20

    init(
        id: String, project: String, targets: [String], trigger: String, scheduler: Scheduler, files: ReportedFileStates
    ) {
        self.id = id
        self.project = project
        self.targets = targets
        self.trigger = trigger
        self.scheduler = scheduler
        self.files = files
        considered = scheduler.neededComponents.reduce(0) { $0 + scheduler.components.members[$1].count }
    }

    var summary: BuildSummary {
        let cycles = scheduler.cycleProgress
        return BuildSummary(
            id: id, project: project, targets: targets, trigger: trigger, state: state, created: created,
            finished: finished, jobs: jobCount, considered: considered,
            failures: scheduler.failures.map(\.description) + (superseded ? ["superseded by newer changes"] : [])
                + (cancelledByUser ? ["cancelled by the user"] : []),
            changedFiles: changedPaths.isEmpty ? nil : Array(changedPaths.prefix(BuildSummary.listed)),
            changedCount: changedPaths.isEmpty ? nil : changedPaths.count,
            cycles: cycles.isEmpty ? nil : cycles)
    }

    var detail: BuildDetail { BuildDetail(build: summary, tasks: order.compactMap { runs[$0] }) }

    /// Records what happens to a task's run.
    func note(_ view: TaskRunView) {
        if position[view.task] == nil {
            position[view.task] = order.count
            order.append(view.task)
        }
        runs[view.task] = view
    }

    /// An id no earlier MajorDomo gave (its jobs' ids derive from it, and a stream may still
    /// hold results of earlier builds): the time in milliseconds, base 36.
    static func newID(after previous: String?) -> String {
        var id = "b" + String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36)
        if let previous, id <= previous { id = previous + "x" }
        return id
    }

    /// Keeps `lines` of `task`'s output, up to `logLimit` bytes; past it, says once how much
    /// is dropped at the end.
    func appendLog(_ lines: [String], of task: String) {
        var kept = logs[task, default: []]
        var size = logBytes[task, default: 0]
        for line in lines {
            size += line.utf8.count + 1
            if size <= Self.logLimit { kept.append(line) }
        }
        logBytes[task] = size
        logs[task] = kept
    }

    /// `task`'s output as kept, with a note of what was dropped.
    func log(of task: String) -> [String] { Self.kept(logs[task] ?? [], of: logBytes[task] ?? 0) }

    /// `lines` kept of `bytes` of output, with a note of what was dropped.
    static func kept(_ lines: [String], of bytes: Int) -> [String] {
        guard bytes > logLimit else { return lines }
        return lines + ["[cp: \(bytes - logLimit) more bytes of output were not kept; the Chef keeps the whole log]"]
    }
}
