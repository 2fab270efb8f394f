import CPProtocol
import DependencyGraph
import Foundation
import Hashing
import ProcessRunner
import RulesManager

/// What a Chef does with a job, for tests of the MajorDomo before `cp chef` exists: the argv
/// of its task from the same rules (as the job's secondary inputs say which exist), run in
/// the project's root (a shared filesystem), its outputs hashed into the result.
public enum StandInChef {
    /// Runs `job` with the rules in `rulePaths`; the result the Chef would publish.
    public static func run(_ job: Job, rulePaths: [String]) -> JobResult {
        runWithOutput(job, rulePaths: rulePaths).result
    }

    /// Runs `job`; the result and the command's output lines (what a Chef streams on
    /// `logger.<project>.<task>`).
    public static func runWithOutput(_ job: Job, rulePaths: [String]) -> (result: JobResult, output: [String]) {
        let started = ContinuousClock.now
        var output: [String] = []
        func failed(_ details: String, exitCode: Int32? = nil) -> (JobResult, [String]) {
            let result = JobResult(
                jobId: job.jobId, result: .failed, exitCode: exitCode,
                elapsed: (ContinuousClock.now - started).inSeconds, details: details)
            return (result, output)
        }
        guard let project = try? Project.load(root: job.source.root, rulePaths: rulePaths),
            let task = project.graph.task(named: job.task)
        else { return failed("chef: no task '\(job.task)' in '\(job.source.root)'") }
        let graph = project.graph
        let argv = graph.argv(of: task) { (job.secondaryInputs[graph.artefacts[Int($0)]] ?? nil) != nil }
        let spec = CommandRunner.Spec(
            argv: argv, directory: job.source.root, environment: CommandRunner.cleanEnvironment(["CP_TASK": job.task]))
        let stage = graph.stage(of: task).map { Stage(directory: job.source.root, path: $0) }
        let outcome: CommandRunner.Outcome
        do {
            try stage?.prepare()
            outcome = try CommandRunner.run(spec)
            try stage?.deliver(succeeded: outcome.succeeded, outputs: Set(job.outputs))
        } catch {
            return failed("chef: cannot run \(argv[0]): \(error)")
        }
        output = outcome.lines.map(\.text)
        guard outcome.succeeded else {
            return failed(outcome.lines.suffix(5).map(\.text).joined(separator: "\n"), exitCode: outcome.status)
        }
        var outputs: [String: JobResult.Output] = [:]
        for path in job.outputs {
            let absolute = job.source.root + "/" + path
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: absolute),
                let digest = try? SHA256Hasher.hex(ofFileAt: absolute)
            else { continue }
            outputs[path] = JobResult.Output(
                size: (attributes[.size] as? NSNumber)?.uint64Value ?? 0,
                mtime: (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0, sha256: digest)
        }
        let result = JobResult(
            jobId: job.jobId, result: .succeeded, exitCode: 0, elapsed: (ContinuousClock.now - started).inSeconds,
            outputs: outputs,
            discovered: graph.discoveryFile(of: task)?.inputs(in: job.source.root, stage: graph.stage(of: task)))
        return (result, output)
    }
}

extension Duration {
    fileprivate var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
