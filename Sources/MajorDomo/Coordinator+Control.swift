import CPProtocol
import Foundation

/// A Chef as the MajorDomo last heard of it (`heartbeat.chef.<name>`).
struct ChefPresence {
    var sender: Sender
    var heartbeat: HeartbeatPayload
    var lastSeen: Date
    /// Whether subscribers were last told it is alive.
    var announcedAlive = false
}

/// A Chef as `GET /chefs` shows it.
public struct ChefView: Codable, Sendable, Equatable {
    public var name: String
    public var pod: String
    /// Silent for three heartbeats (30 s): gone; its jobs come back through redelivery.
    public var alive: Bool
    /// Seconds since its last heartbeat.
    public var silentFor: Double
    /// The kinds and rules it registered.
    public var kinds: [String]
    public var rules: [String]
    public var running: Int
    public var capacity: Int
    /// Load averages over 1, 5 and 15 minutes.
    public var load: [Double]
    public var startedAt: String
    public var version: String
}

/// Cancelling builds, the Chefs' output and their presence.
extension Coordinator {
    /// How long a Chef may be silent before it is taken for gone: three default heartbeats.
    static let chefSilence: Double = 30

    /// Cancels build `id`: no new job goes out, each job out is told to stop
    /// (`build.cancel.<jobId>`) and its result will be ignored; the build ends `cancelled`.
    public func cancelBuild(_ id: String) async throws(MajorDomoError) -> BuildSummary {
        guard let run = builds[id] else {
            guard let ended = history[id] else { throw .notFound("no build '\(id)'") }
            throw .conflict("build '\(id)' is not running: it \(ended.build.state.rawValue)")
        }
        guard run.state == .running else { throw .conflict("build '\(id)' is not running: it \(run.state.rawValue)") }
        run.cancelledByUser = true
        run.state = .cancelled
        run.finished = Date().timeIntervalSince1970
        let out = run.inFlight
        run.inFlight = [:]
        run.waiting = []
        for (jobID, job) in out {
            jobOwners[jobID] = nil
            var view = run.runs[job.name] ?? Self.view(job, run.scheduler.graph, state: .cancelled)
            view.state = .cancelled
            note(run, view)
        }
        logger.notice("build \(id) of project '\(run.project)' cancelled")
        emitBuild(run)
        for jobID in out.keys.sorted() { await jobQueue?.cancel(jobID, reason: .cancelledByUser) }
        await buildEnded(run)
        return run.summary
    }

    /// Output lines a Chef streamed (`logger.<project>.<task>`), kept with the job's build; those
    /// of a job this MajorDomo did not send are dropped.
    public func appendLog(_ lines: LogLines) {
        guard let (buildID, task) = jobTasks[lines.jobId], let run = builds[buildID] else { return }
        run.appendLog(lines.lines, of: task)
        if var view = run.runs[task], view.state == .running, view.started == nil, view.jobId == lines.jobId {
            view.started = Date().timeIntervalSince1970
            note(run, view)
        }
        logFollowers.lines(lines.lines, of: task, in: buildID)
        if run.state != .running {  // late lines (see `lateLogGrace`): the kept log is written again
            let log = (run.logs[task] ?? [], run.logBytes[task] ?? 0)
            persist("the log of '\(task)'") { try $0.saveLogs([task: log], of: buildID) }
        }
    }

    /// The output of build `id` (one task's, or every task's) as it comes: what is kept so far,
    /// then each line the Chefs stream, until the build ends. A build that has ended gives
    /// what is kept and ends at once.
    public func followLog(_ id: String, task: String?) throws(MajorDomoError) -> AsyncStream<LogLine> {
        let detail = try build(id)
        let running = builds[id]?.state == .running
        // A running build may yet run a task it has not sent.
        let started = task.map { task in detail.tasks.contains { $0.task == task } } ?? true
        let backlog = started || !running ? try logLines(id, task: task) : []
        let stream = logFollowers.follow(build: id, task: task, backlog: backlog) { [weak self] key in
            Task { await self?.stopFollowing(key) }
        }
        if !running { logFollowers.end(build: id) }
        return stream
    }

    private func stopFollowing(_ key: UUID) { logFollowers.remove(key) }

    /// The output of build `id`: one task's, or every task's, each line after `[task] `.
    public func log(_ id: String, task: String?) throws(MajorDomoError) -> String {
        let lines = try logLines(id, task: task)
        if task != nil { return lines.map { $0.line + "\n" }.joined() }
        return lines.map { "[\($0.task)] \($0.line)\n" }.joined()
    }

    /// The kept output of build `id` (one task's, or every task's in the order they were
    /// sent), line by line.
    func logLines(_ id: String, task: String?) throws(MajorDomoError) -> [LogLine] {
        let detail = try build(id)
        let lines: (String) -> [String]
        if let run = builds[id] {
            lines = { run.log(of: $0) }
        } else {
            let stored = storeLogs(of: id)
            lines = { task in stored[task].map { BuildRun.kept($0.lines, of: $0.bytes) } ?? [] }
        }
        if let task {
            guard detail.tasks.contains(where: { $0.task == task }) else {
                throw .notFound("build '\(id)' ran no task '\(task)'")
            }
            return lines(task).map { LogLine(task: task, line: $0) }
        }
        return detail.tasks.flatMap { run in lines(run.task).map { LogLine(task: run.task, line: $0) } }
    }

    /// A heartbeat: who is alive, with what load and jobs. A watcher not heard in this run, or
    /// started again since (its `startedAt` is new), is asked to watch every project of its pod.
    public func heartbeat(from sender: Sender, _ beat: HeartbeatPayload) async {
        if sender.role == "watch" {
            guard configuration.rewatch, watchers[sender.name] != beat.startedAt else { return }
            watchers[sender.name] = beat.startedAt
            let records = projectNames(on: sender.pod).sorted().compactMap(projectRecord)
            if !records.isEmpty {
                logger.notice(
                    "watcher '\(sender.name)' of pod '\(sender.pod)' (re)started: asked to watch \(records.count) project(s)"
                )
            }
            var answered = true
            for record in records where !(await requestWatch(record)) { answered = false }
            // Not answered (its request subscription not yet where the request went): asked
            // again at its next heartbeat.
            if !answered { watchers[sender.name] = nil }
            return
        }
        guard sender.role == "chef" else { return }
        let arrived = chefs[sender.name]?.announcedAlive != true
        chefs[sender.name] = ChefPresence(sender: sender, heartbeat: beat, lastSeen: Date(), announcedAlive: true)
        if arrived, let view = chefList().first(where: { $0.name == sender.name }) { events.emit(.chef, view) }
    }

    /// Every Chef heard from, by name, with what it registered.
    public func chefList() -> [ChefView] {
        let rules = (try? storeRules()) ?? []
        return chefs.keys.sorted().compactMap { name -> ChefView? in
            guard let chef = chefs[name] else { return nil }
            let silent = Date().timeIntervalSince(chef.lastSeen)
            let offered = rules.filter { $0.chefName == name }
            return ChefView(
                name: name, pod: chef.sender.pod, alive: silent < Self.chefSilence, silentFor: silent,
                kinds: Array(Set(offered.map(\.kind))).sorted(), rules: offered.map(\.ruleName).sorted(),
                running: chef.heartbeat.jobs.running, capacity: chef.heartbeat.jobs.capacity,
                load: chef.heartbeat.load, startedAt: chef.heartbeat.startedAt, version: chef.heartbeat.version)
        }
    }
}

extension Coordinator {
    /// Job `jobID` was delivered `deliveries` times without a result (the work queue's limit,
    /// DESIGN §3): a poison job. Its task fails with that said, and the build goes on without it.
    public func poisoned(jobID: String, deliveries: Int) async {
        guard let buildID = jobOwners.removeValue(forKey: jobID), let run = builds[buildID],
            let job = run.inFlight.removeValue(forKey: jobID)
        else { return }
        let message = "poison job: delivered \(deliveries) times without a result, then removed from the queue"
        logger.error("build \(buildID): task '\(job.name)': \(message)")
        run.scheduler.finished(job, succeeded: false, message: message)
        var view = run.runs[job.name] ?? Self.view(job, run.scheduler.graph, state: .failed)
        view.state = .failed
        view.detail = message
        note(run, view)
        await advance(run)
    }
}
