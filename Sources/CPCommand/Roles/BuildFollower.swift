import Foundation
import MajorDomo
import RESTClient
import Synchronization

/// Follows one build through a MajorDomo's events (`cp ctrl build`, `cp up`), on stderr: on a
/// terminal one progress line redrawn (tasks done of those considered, what runs with its
/// pass); otherwise a line per task run started and ended. Then the report: each failed
/// task's last lines of output and one summary line.
final class BuildFollower: Sendable {
    /// The role the lines are said by (`cp: ROLE: …`).
    let role: String
    let terminal: Bool
    private let state = Mutex(Progress())

    /// What is known of the build so far.
    struct Progress {
        var considered: Int?
        var finished: Set<String> = []
        var running: [String: TaskRunView] = [:]
        var drawn = false
    }

    /// How many lines of a failed task's output the report shows.
    static let tail = 40

    init(role: String, terminal: Bool) {
        self.role = role
        self.terminal = terminal
    }

    /// Reads `events` (the MajorDomo's `/events`) until build `id` ends; its summary then.
    func follow(_ id: String, _ events: AsyncThrowingStream<ServerSentEvent, any Error>) async throws -> BuildSummary {
        for try await event in events {
            if let summary = take(event, of: id) { return summary }
        }
        throw CtrlError.failure("the MajorDomo stopped before build \(id) ended")
    }

    /// Takes one event; build `id`'s summary once it has ended.
    func take(_ event: ServerSentEvent, of id: String) -> BuildSummary? {
        // Cheap first: most events of a busy MajorDomo are of other builds.
        guard event.event == "task" || event.event == "build", event.data.contains("\"\(id)\"") else { return nil }
        let data = Data(event.data.utf8)
        if event.event == "build" {
            guard let summary = try? JSONDecoder().decode(BuildSummary.self, from: data), summary.id == id else {
                return nil
            }
            if summary.state != .running { return summary }
            state.withLock { $0.considered = summary.considered }
            return nil
        }
        guard let task = try? JSONDecoder().decode(TaskEvent.self, from: data), task.build == id else { return nil }
        note(task.run)
        return nil
    }

    /// A task's run changed.
    private func note(_ run: TaskRunView) {
        let line = state.withLock { progress -> String? in
            // The same job again (it started: its first line of output came): nothing new to say.
            if run.state == .running, let known = progress.running[run.task], known.state == .running,
                known.jobId == run.jobId
            {
                return nil
            }
            switch run.state {
            case .running, .waiting:
                progress.running[run.task] = run
            case .succeeded, .failed, .cancelled:
                progress.running[run.task] = nil
                progress.finished.insert(run.task)
            }
            if terminal {
                progress.drawn = true
                return "\r\u{1B}[K" + Self.progressLine(progress)
            }
            return "cp: \(role): " + Self.plainLine(run) + "\n"
        }
        if let line { Output.err(line) }
    }

    /// `[3/5] pdflatex-paper (pass 2), bibtex-paper`.
    static func progressLine(_ progress: Progress) -> String {
        let done = progress.finished.count
        let total = progress.considered.map { "/\(max($0, done))" } ?? ""
        let running = progress.running.keys.sorted().compactMap { progress.running[$0] }.map(label)
        return "[\(done)\(total)]" + (running.isEmpty ? "" : " " + running.joined(separator: ", "))
    }

    /// One line of a task run's change, for a log or a pipe.
    static func plainLine(_ run: TaskRunView) -> String {
        switch run.state {
        case .waiting: return "wait \(label(run)): \(run.reason)"
        case .running: return "run \(label(run)) [\(run.rule)]: \(run.reason)"
        case .succeeded:
            return "done \(label(run))" + (run.chef.map { " on \($0)" } ?? "")
                + (run.elapsed.map { " in " + TextTable.seconds($0) } ?? "")
        case .failed: return "FAILED \(label(run))" + (run.detail.map { ": \($0)" } ?? "")
        case .cancelled: return "cancelled \(label(run))"
        }
    }

    static func label(_ run: TaskRunView) -> String { run.pass > 1 ? "\(run.task) (pass \(run.pass))" : run.task }

    /// Removes the progress line (on a terminal).
    func clearLine() {
        let drawn = state.withLock { progress in
            defer { progress.drawn = false }
            return progress.drawn
        }
        if drawn { Output.err("\r\u{1B}[K") }
    }

    /// After the build: each failed task's last lines of output (`log` gives a task's whole
    /// output) and the failures. The summary line is the caller's.
    func report(_ detail: BuildDetail, log: (String) async -> String?) async {
        clearLine()
        for run in detail.tasks where run.state == .failed {
            Output.err("cp: \(role): task '\(run.task)' failed\(run.detail.map { ": \($0)" } ?? "")\n")
            guard let output = await log(run.task) else { continue }
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            for line in lines.suffix(Self.tail + 1) where !line.isEmpty { Output.err("  \(line)\n") }
        }
        for failure in detail.build.failures { Output.err("cp: \(role): \(failure)\n") }
    }

    /// `build b… succeeded: 5 task runs (3 passes) in 2.31 s`, or `… up to date`.
    static func summary(_ detail: BuildDetail) -> String {
        let build = detail.build
        let runs = build.jobs
        let passes = detail.tasks.map(\.pass).max() ?? 0
        let took = build.finished.map { " in " + TextTable.seconds($0 - build.created) } ?? ""
        let what =
            runs == 0
            ? "up to date"
            : "\(runs) task run\(runs == 1 ? "" : "s")" + (passes > 1 ? " (\(passes) passes)" : "")
        return "build \(build.id) \(build.state.rawValue): \(what)\(took)"
    }
}

/// One line of `cp ctrl monitor` per event.
enum EventLine {
    static func render(_ event: ServerSentEvent) -> String? {
        let data = Data(event.data.utf8)
        let decoder = JSONDecoder()
        switch event.event {
        case "build":
            guard let build = try? decoder.decode(BuildSummary.self, from: data) else { return nil }
            let targets = build.targets.isEmpty ? "" : " " + build.targets.joined(separator: " ")
            return "build \(build.id) \(build.project)\(targets): \(build.state.rawValue) (\(build.trigger))"
                + (build.failures.isEmpty ? "" : ": " + build.failures.joined(separator: "; "))
        case "task":
            guard let task = try? decoder.decode(TaskEvent.self, from: data) else { return nil }
            return "task \(task.build) \(BuildFollower.plainLine(task.run))"
        case "files":
            guard let files = try? decoder.decode(FilesEvent.self, from: data) else { return nil }
            let more = files.count > files.paths.count ? " and \(files.count - files.paths.count) more" : ""
            return "files \(files.project): \(files.paths.joined(separator: " "))\(more)"
        case "chef":
            guard let chef = try? decoder.decode(ChefView.self, from: data) else { return nil }
            return
                "chef \(chef.name) (\(chef.pod)): \(chef.alive ? "alive" : "gone"), \(chef.running)/\(chef.capacity) jobs"
        default:
            return nil
        }
    }
}
