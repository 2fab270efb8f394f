import CPModel
import Foundation
import ProcessRunner
import RulesManager

/// What runs a job: the local executor below (the MajorDomo sends jobs to Chefs instead).
public protocol Executor: Sendable {
    func run(_ job: Scheduler.Job, cancellation: CommandRunner.Cancellation) async -> Execution
}

/// How a job went, and what its tool reported reading.
public struct Execution: Sendable {
    public var outcome: CommandRunner.Outcome
    /// The files inside the project the tool read (its rule's `discover`), after a success;
    /// nil when it reports nothing.
    public var discovered: [String]?

    public init(_ outcome: CommandRunner.Outcome, discovered: [String]? = nil) {
        self.outcome = outcome
        self.discovered = discovered
    }
}

/// Runs jobs on this machine with `CommandRunner`, in the project's directory.
public struct LocalExecutor: Executor {
    public let root: String
    public let timeout: Duration?
    /// Whether the files outside the project that a tool reports reading (TeX Live's `.sty`
    /// files, `/usr/include`) are recorded too, by absolute path.
    public let systemFiles: Bool

    public init(root: String, timeout: Duration? = nil, systemFiles: Bool = false) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
        self.timeout = timeout
        self.systemFiles = systemFiles
    }

    public func run(_ job: Scheduler.Job, cancellation: CommandRunner.Cancellation) async -> Execution {
        let spec = CommandRunner.Spec(
            argv: job.argv, directory: root,
            environment: CommandRunner.cleanEnvironment([
                "CP_PROJECT_DIR": root, "CP_TASK": job.name, "CP_PASS": String(job.pass),
            ]),
            timeout: timeout)
        // A job may run for minutes: a thread of its own, not one of the bounded pool's.
        let root = root
        let stage = job.stage.map { Stage(directory: root, path: $0) }
        let systemFiles = systemFiles
        return await onThreadOfItsOwn("cp-job") { () -> Execution in
            do {
                try stage?.prepare()
                let outcome = try CommandRunner.run(spec, cancellation: cancellation)
                try stage?.deliver(succeeded: outcome.succeeded, outputs: Set(job.outputs))
                guard outcome.succeeded, let discovery = job.discovery else { return Execution(outcome) }
                return Execution(outcome, discovered: discovery.inputs(in: root, stage: job.stage, system: systemFiles))
            } catch {
                return Execution(CommandRunner.Outcome(status: 127, lines: [.init(stream: .stderr, text: "\(error)")]))
            }
        }
    }
}

/// Drives a scheduler with an executor: at most `jobs` tasks at once, each result handed
/// back as it comes. `report` hears every start and finish (for progress and logs).
public enum BuildDriver {
    public enum Report: Sendable {
        case started(Scheduler.Job)
        case finished(Scheduler.Job, CommandRunner.Outcome)
    }

    /// Runs until the scheduler has nothing left; true when nothing failed.
    public static func run(
        _ scheduler: Scheduler, executor: some Executor, jobs: Int, cancellation: CommandRunner.Cancellation = .init(),
        report: @escaping (Report) -> Void = { _ in }
    ) async -> Bool {
        await withTaskGroup(of: (Scheduler.Job, Execution).self) { group in
            var queue: [Scheduler.Job] = []
            var head = 0  // jobs before it have started
            var running = 0
            while true {
                queue += scheduler.next()
                // Once cancelled, nothing new starts: what runs is being killed.
                while running < max(1, jobs), head < queue.count, !cancellation.isCancelled {
                    let job = queue[head]
                    head += 1
                    running += 1
                    report(.started(job))
                    group.addTask { (job, await executor.run(job, cancellation: cancellation)) }
                }
                if head == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    head = 0
                }
                guard running > 0, let (job, execution) = await group.next() else { break }
                running -= 1
                report(.finished(job, execution.outcome))
                scheduler.finished(
                    job, succeeded: execution.outcome.succeeded, message: describe(execution.outcome),
                    discovered: execution.discovered)
            }
        }
        return scheduler.failures.isEmpty
    }

    /// Why a job failed, in a few words.
    static func describe(_ outcome: CommandRunner.Outcome) -> String {
        if outcome.cancelled { return "cancelled" }
        if outcome.timedOut { return "timed out" }
        if outcome.status > 128 { return "killed by signal \(outcome.status - 128)" }
        return "exit status \(outcome.status)"
            + (FirstError.find(in: outcome.lines.map(\.text)).map { ": \($0)" } ?? "")
    }
}
