import CPModel
import CPProtocol
import Foundation
import ProcessRunner
import RulesManager
import Synchronization

/// What a Chef does with one job (DESIGN §7): the rule must be its own, every path clean and
/// inside the project, the inputs present with the job's digests; then the argv of its own
/// rule runs without a shell, with a timeout and a clean environment, in a process group of
/// its own, its output streamed and kept in its log file; the outputs are hashed and
/// put back. Nothing here knows NATS: the role wires `publishLog` and the result.
public final class JobExecutor: Sendable {
    public struct Settings: Sendable {
        /// The Chef's name, in messages.
        public var chef: String
        /// Where `logs/<jobId>.log` (each job's whole output) is kept.
        public var workDirectory: String
        public var timeout: Duration
        /// Bytes of a job's log streamed before the rest is only kept in its file.
        public var logLimit = 1 << 20
        /// Job logs kept; older ones are removed.
        public var keptLogs = 200

        public init(chef: String, workDirectory: String, timeout: Duration) {
            self.chef = chef
            self.workDirectory = workDirectory
            self.timeout = timeout
        }
    }

    public let rules: ChefRules
    public let settings: Settings
    private let workspace: @Sendable (Job) throws(JobFailure) -> any JobWorkspace
    private let finishedLogs = Mutex<[String]>([])
    /// The logs of the jobs running now, for `flushLogs`.
    private let liveLogs = Mutex<[ObjectIdentifier: LogStream]>([:])
    /// What every job's environment starts from (read once: the process's environment is not
    /// cheap to read).
    private let baseEnvironment: [String: String]

    /// `workspace` says where a job's files are; by default the shared filesystem.
    public init(
        rules: ChefRules, settings: Settings,
        workspace: @escaping @Sendable (Job) throws(JobFailure) -> any JobWorkspace = { _ in SharedWorkspace() }
    ) {
        self.rules = rules
        self.settings = settings
        self.workspace = workspace
        baseEnvironment = CommandRunner.cleanEnvironment(["CP_CHEF": settings.chef])
    }

    /// `runBlocking` on a thread of its own.
    public func run(
        _ job: Job, cancellation: CommandRunner.Cancellation,
        publishLog: @escaping @Sendable (LogLines) -> Void
    ) async -> JobResult {
        await onThreadOfItsOwn("chef-job") { self.runBlocking(job, cancellation: cancellation, publishLog: publishLog) }
    }

    /// Runs `job` to its end on the caller's thread (one of the caller's own: it blocks for as
    /// long as the command runs) and says how it went; `publishLog` gets its output in batches,
    /// when many lines wait and at each `flushLogs()`. `cancellation` kills it (the result then
    /// says `cancelled`).
    public func runBlocking(
        _ job: Job, cancellation: CommandRunner.Cancellation,
        publishLog: @escaping @Sendable (LogLines) -> Void
    ) -> JobResult {
        let started = ContinuousClock.now
        func elapsed() -> Double {
            let components = (ContinuousClock.now - started).components
            return Double(components.seconds) + Double(components.attoseconds) / 1e18
        }
        do throws(JobFailure) {
            let (outcome, outputs, discovered) = try execute(job, cancellation: cancellation, publishLog: publishLog)
            if outcome.cancelled || cancellation.isCancelled {
                return JobResult(
                    jobId: job.jobId, result: .cancelled, exitCode: outcome.status, elapsed: elapsed(),
                    outputs: outputs, details: "cancelled")
            }
            if outcome.timedOut {
                return JobResult(
                    jobId: job.jobId, result: .failed, exitCode: outcome.status, elapsed: elapsed(), outputs: outputs,
                    details: "timed out after \(settings.timeout) (--timeout); its process group was killed")
            }
            guard outcome.status == 0 else {
                let last =
                    FirstError.find(in: outcome.lines.map(\.text))
                    ?? outcome.lines.last { !$0.text.trimmingCharacters(in: .whitespaces).isEmpty }?.text
                return JobResult(
                    jobId: job.jobId, result: .failed, exitCode: outcome.status, elapsed: elapsed(), outputs: outputs,
                    details: "exited with status \(outcome.status)" + (last.map { ": \($0)" } ?? ""))
            }
            return JobResult(
                jobId: job.jobId, result: .succeeded, exitCode: 0, elapsed: elapsed(), outputs: outputs,
                discovered: discovered)
        } catch {
            return JobResult(
                jobId: job.jobId, result: cancellation.isCancelled ? .cancelled : error.outcome, exitCode: nil,
                elapsed: elapsed(), details: error.message)
        }
    }

    /// The argv this Chef runs for `job`: its own rule's, expanded with the job's paths.
    public func argv(for job: Job) throws(JobFailure) -> [String] { try command(for: job).argv }

    /// `job`'s argv, where its tool reports what it read (its rule's `discover`) and where it
    /// writes before its files are moved into place (its rule's `{{stage}}`), once its rule is
    /// this Chef's and every path is clean.
    private func command(for job: Job) throws(JobFailure) -> (argv: [String], discovery: DiscoveryFile?, stage: String?)
    {
        guard let rule = rules.book.rules[job.rule] else {
            throw JobFailure("rule '\(job.rule)' is not offered by chef \(settings.chef)")
        }
        for path in job.allPaths {
            if let problem = JobPaths.problem(path) { throw JobFailure("path refused: \(problem)") }
        }
        let placeholders = job.placeholders
        let values = ArgvTemplate.Values(
            dependencies: placeholders.dependencies,
            secondaryDependencies: placeholders.secondaryDependencies.filter {
                (job.secondaryInputs[$0] ?? nil) != nil
            },
            outputs: job.outputs, stem: placeholders.stem, mainFile: placeholders.mainFile,
            stage: Stage.path(task: job.task))
        let argv = rule.build.expand(values)
        guard !argv.isEmpty, !argv[0].isEmpty else {
            throw JobFailure("rule '\(job.rule)' of chef \(settings.chef) has no build command")
        }
        let discovery = rule.discover?.file(values)
        if let problem = discovery.flatMap({ JobPaths.problem($0.path) }) {
            throw JobFailure("discovery file refused: \(problem)")
        }
        return (argv, discovery, rule.build.usesStage ? values.stage : nil)
    }

    private func execute(
        _ job: Job, cancellation: CommandRunner.Cancellation, publishLog: @escaping @Sendable (LogLines) -> Void
    ) throws(JobFailure) -> (CommandRunner.Outcome, [String: JobResult.Output], [String]?) {
        let (argv, discovery, stagePath) = try command(for: job)
        let workspace = try workspace(job)
        let directory = try workspace.prepare(job)
        try JobPaths.check(job.allPaths, in: directory)
        // As ninja does: the outputs' directories exist before the command runs.
        for path in job.outputs where path.contains("/") {
            let parent = directory + "/" + (path as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            } catch {
                throw JobFailure("cannot make the directory of output '\(path)': \(error.localizedDescription)")
            }
        }
        let stage = stagePath.map { Stage(directory: directory, path: $0) }
        do throws(StageError) { try stage?.prepare() } catch { throw JobFailure(error.description) }
        if cancellation.isCancelled { throw JobFailure("cancelled", outcome: .cancelled) }
        let logFile = settings.workDirectory + "/logs/" + SafeName.of(job.jobId) + ".log"
        let log = LogStream(job: job, file: logFile, limit: settings.logLimit, chef: settings.chef, publish: publishLog)
        let spec = CommandRunner.Spec(
            argv: argv, directory: directory,
            environment: baseEnvironment.merging([
                "CP_PROJECT": job.project, "CP_TASK": job.task, "CP_JOB": job.jobId, "CP_PASS": String(job.pass),
            ]) { $1 },
            timeout: settings.timeout)
        let key = ObjectIdentifier(log)
        liveLogs.withLock { $0[key] = log }
        let ran = Result { () throws(ProcessError) in
            try CommandRunner.run(spec, cancellation: cancellation, onLine: log.add)
        }
        liveLogs.withLock { _ = $0.removeValue(forKey: key) }
        log.finish()
        finished(logFile)
        let outcome: CommandRunner.Outcome
        switch ran {
        case .success(let value): outcome = value
        case .failure(let error): throw JobFailure("cannot run \(argv[0]): \(error)")
        }
        do throws(StageError) {
            try stage?.deliver(succeeded: outcome.succeeded, outputs: Set(job.outputs))
        } catch {
            throw JobFailure(error.description)
        }
        let outputs = InputCheck.describe(job.outputs, in: directory)
        guard outcome.succeeded else { return (outcome, outputs, nil) }
        try workspace.deliver(job, outputs: outputs, from: directory)
        return (outcome, outputs, discovery?.inputs(in: directory, stage: stagePath))
    }

    /// Sends what the running jobs printed since the last flush (the role calls it every 100 ms,
    /// so a line is seen live even when its job prints no more for a while).
    public func flushLogs() {
        for log in liveLogs.withLock({ Array($0.values) }) { log.flush() }
    }

    /// Keeps the newest `keptLogs` job logs.
    private func finished(_ log: String) {
        let old = finishedLogs.withLock { list -> [String] in
            list.removeAll { $0 == log }
            list.append(log)
            guard list.count > settings.keptLogs else { return [] }
            let old = Array(list.prefix(list.count - settings.keptLogs))
            list.removeFirst(old.count)
            return old
        }
        for log in old { unlink(log) }
    }
}

/// A name (a job id, a pod, a project) as a file name: anything but letters, digits, `-`, `_` and `.` becomes `_`.
enum SafeName {
    static func of(_ id: String) -> String {
        let cleaned = String(
            id.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "_" })
        return cleaned.isEmpty || cleaned.hasPrefix(".") ? "_" + cleaned : cleaned
    }
}
