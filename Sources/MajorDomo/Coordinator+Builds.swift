import ArtefactManager
import CPProtocol
import DependencyGraph
import Foundation
import RulesManager

/// Builds (DESIGN §6): a project's goals through the scheduler, every task run one job on the
/// work queue of the kind of Chef that offers its rule, results applied as they come back.
extension Coordinator {
    /// Starts a build of `targets` of project `name` (none: every target); one build of a
    /// project at a time.
    public func startBuild(_ name: String, targets: [String], trigger: String = "request") async throws(MajorDomoError)
        -> BuildSummary
    {
        try await startBuild(name, targets: targets, trigger: trigger, changed: nil)
    }

    /// A build of `targets` of project `name`; with `changed`, only what those artefacts reach
    /// (`paths` being the files whose change it builds).
    func startBuild(
        _ name: String, targets: [String], trigger: String, changed: [Int32]?, paths: [String] = []
    ) async throws(MajorDomoError) -> BuildSummary {
        try requireProject(name)
        guard let project = projectGraph(name) else {
            throw .unprocessable("project '\(name)' has no graph: its definitions did not load")
        }
        if let running = buildOrder.lazy.compactMap({ self.builds[$0] }).first(where: {
            $0.project == name && $0.state == .running
        }) {
            throw .conflict("build '\(running.id)' of project '\(name)' is running; wait for it")
        }
        var graph = project.graph
        if !targets.isEmpty { graph.goals = try goals(of: targets, in: name, graph) }
        let files = table(of: name)
        let scheduler = Scheduler(
            graph: graph, components: project.components, store: try records(name), files: files, changed: changed)
        let run = BuildRun(
            id: BuildRun.newID(after: buildOrder.last), project: name, targets: targets, trigger: trigger,
            scheduler: scheduler, files: files)
        run.changed = changed
        run.changedPaths = paths.sorted()
        builds[run.id] = run
        buildOrder.append(run.id)
        logger.notice("build \(run.id) of project '\(name)' started")
        emitBuild(run)
        await advance(run)
        return run.summary
    }

    /// The build of project `name` that is running, if one is.
    public func runningBuild(of name: String) -> BuildSummary? { runningBuilds(of: name).first?.summary }

    /// The builds of project `name` that are running.
    func runningBuilds(of name: String) -> [BuildRun] {
        builds.values.filter { $0.project == name && $0.state == .running }
    }

    /// Every build, newest first (those of earlier runs of the MajorDomo too).
    public func buildList() -> [BuildSummary] {
        buildOrder.reversed().compactMap { builds[$0]?.summary ?? history[$0]?.build }
    }

    /// Build `id` with its tasks.
    public func build(_ id: String) throws(MajorDomoError) -> BuildDetail {
        if let run = builds[id] { return run.detail }
        guard let old = history[id] else { throw .notFound("no build '\(id)'") }
        return old
    }

    /// A Chef's result for a job (`build.results.<jobId>`): its outputs recorded, its task
    /// finished, the build advanced. A result for a job not out (late, duplicated, of an
    /// earlier MajorDomo) is ignored.
    public func finished(_ result: JobResult, chef: Sender) async {
        guard let buildID = jobOwners.removeValue(forKey: result.jobId), let run = builds[buildID],
            let job = run.inFlight.removeValue(forKey: result.jobId)
        else {
            logger.info("result of job '\(result.jobId)' ignored: no such job is out")
            return
        }
        var changes: [String: Artefact?] = [:]
        for (path, output) in result.outputs {
            let artefact = Artefact(
                sha256: output.sha256, size: output.size, mtime: output.mtime,
                mode: files(of: run.project)[path]?.mode ?? 0o644, pod: chef.pod)
            changes[path] = artefact
        }
        record(changes, of: run.project)
        emitFiles(run.project, Array(changes.keys))
        let succeeded = result.result == .succeeded
        let how =
            result.details.isEmpty ? result.exitCode.map { "exit status \($0)" } ?? "\(result.result)" : result.details
        // What a Chef says its tool read is kept only as clean paths inside the project.
        let discovered = result.discovered?.filter { !$0.utf8.contains(0) && ProjectPath.normalize($0) == $0 }
        run.scheduler.finished(job, succeeded: succeeded, message: how, discovered: discovered)
        var view = run.runs[job.name] ?? Self.view(job, run.scheduler.graph, state: .running)
        view.state = succeeded ? .succeeded : .failed
        view.chef = chef.name
        view.exitCode = result.exitCode
        view.elapsed = result.elapsed
        let now = Date().timeIntervalSince1970
        view.ended = now
        if view.started == nil { view.started = max(view.queued ?? 0, now - result.elapsed) }
        view.detail = succeeded ? nil : how
        note(run, view)
        await advance(run)
    }

    /// Sends the jobs waiting for a Chef whose rule is now offered.
    func resumeWaitingBuilds() async {
        for run in buildOrder.compactMap({ builds[$0] }) where run.state == .running && !run.waiting.isEmpty {
            let waiting = run.waiting
            run.waiting = []
            for job in waiting { await dispatch(job, run) }
            await advance(run)
        }
    }

    /// Hands out what the scheduler can run now, a few jobs at a time (the first reach the
    /// queue while the rest are decided); ends the build when nothing is left.
    func advance(_ run: BuildRun) async {
        while run.state == .running && !run.superseded {
            let jobs = run.scheduler.next(limit: 32)
            if jobs.isEmpty { break }
            for job in jobs { await dispatch(job, run) }
        }
        guard run.state == .running, run.inFlight.isEmpty, run.waiting.isEmpty else { return }
        run.state =
            run.superseded ? .cancelled : run.scheduler.failures.isEmpty ? .succeeded : .failed
        run.finished = Date().timeIntervalSince1970
        logger.notice("build \(run.id) of project '\(run.project)' \(run.state.rawValue) after \(run.jobCount) jobs")
        emitBuild(run)
        await buildEnded(run)
        retireBuilds(of: run.project)
    }

    /// Whether build `id` is held whole in memory (not yet retired to its record).
    func holdsRun(_ id: String) -> Bool { builds[id] != nil }

    /// The builds of the jobs whose streamed output is still placed.
    var buildsWithJobs: Set<String> { Set(jobTasks.values.map(\.build)) }

    /// How many ended builds are kept in memory for `GET /builds` (all are in the store).
    static let historyLimit = 200

    /// Ended builds of `project` but its newest leave memory for their record (their output is
    /// in the store), and the oldest records beyond `historyLimit` go too: memory stays flat
    /// however many builds run (`bench/soak`).
    func retireBuilds(of project: String) {
        let retired = Set(
            buildOrder.filter { builds[$0]?.project == project && builds[$0]?.state != .running }.dropLast())
        for id in retired { history[id] = builds.removeValue(forKey: id)?.detail }
        if !retired.isEmpty { jobTasks = jobTasks.filter { !retired.contains($0.value.build) } }
        let kept = history.count
        guard kept > Self.historyLimit + Self.historyLimit / 4 else { return }
        var excess = kept - Self.historyLimit
        var remaining: [String] = []
        for id in buildOrder {
            if excess > 0, builds[id] == nil, history.removeValue(forKey: id) != nil {
                excess -= 1
            } else {
                remaining.append(id)
            }
        }
        buildOrder = remaining
    }

    /// One job on the work queue of the kind of Chef that offers its rule, or waiting.
    private func dispatch(_ job: Scheduler.Job, _ run: BuildRun) async {
        let graph = run.scheduler.graph
        let task = graph.tasks[Int(job.task)]
        guard let kind = ruleKind(task.rule) else {
            run.waiting.append(job)
            var view = Self.view(job, graph, state: .waiting)
            view.reason = "waiting for a Chef that offers rule '\(task.rule)'"
            note(run, view)
            return
        }
        run.jobCount += 1
        let jobID = "\(run.id)-\(run.jobCount)"
        let digest = { (id: Int32) in run.files.files[graph.artefacts[Int(id)]]?.sha256 }
        var secondary: [String: String?] = [:]
        for id in task.secondaryDependencies { secondary[graph.artefacts[Int(id)]] = .some(digest(id)) }
        let root = projectRoot(run.project) ?? ""
        let message = Job(
            jobId: jobID, buildId: run.id, project: run.project, task: task.name, rule: task.rule,
            inputs: Dictionary(task.dependencies.map { (graph.artefacts[Int($0)], digest($0) ?? "") }) { first, _ in
                first
            },
            secondaryInputs: secondary, outputs: job.outputs, pass: job.pass,
            source: .init(
                pod: projectPod(run.project) ?? configuration.pod, sftp: projectRecord(run.project)?.sftp, root: root),
            placeholders: .init(
                dependencies: graph.paths(task.dependencies),
                secondaryDependencies: graph.paths(task.secondaryDependencies), stem: task.stem,
                mainFile: task.mainFile),
            context: projectRecord(run.project)?.sftp == nil ? nil : context(of: job.task, run))
        // Out before the await: its result may come back while the queue answers.
        run.inFlight[jobID] = job
        jobOwners[jobID] = run.id
        jobTasks[jobID] = (run.id, task.name)
        var view = Self.view(job, graph, state: .running)
        view.jobId = jobID
        view.queued = Date().timeIntervalSince1970
        note(run, view)
        do {
            guard let jobQueue else { throw MajorDomoError.failure("no work queue") }
            try await jobQueue.submit(message, kind: kind)
        } catch {
            guard run.inFlight.removeValue(forKey: jobID) != nil else { return }
            jobOwners[jobID] = nil
            run.scheduler.finished(job, succeeded: false, message: "cannot queue the job: \(error)")
            view.state = .failed
            view.detail = "cannot queue the job: \(error)"
            note(run, view)
        }
    }

    /// The most files a job's context names (a first run's: the project's sources).
    static let contextLimit = 2000

    /// For a Chef that mirrors the project, what a task whose tool reports its reads (its
    /// rule's `discover`) reads beyond what it names: its discovered inputs last time, with the
    /// digests reported now; before its first run, every source of the project (a file no task
    /// writes), up to `contextLimit`. Nil for a task whose tool reports nothing.
    func context(of task: Int32, _ run: BuildRun) -> [String: String]? {
        let graph = run.scheduler.graph
        guard graph.tasks[Int(task)].discovery != nil else { return nil }
        let files = run.files.files
        if let record = try? records(run.project).record(of: graph.tasks[Int(task)].name) {
            var context: [String: String] = [:]
            for file in record.discovered {
                if let digest = files[file.path]?.sha256 { context[file.path] = digest }
            }
            return context
        }
        if let sources = run.sources { return sources }
        let made = Set(graph.tasks.flatMap { graph.paths($0.outputs) })
        var sources: [String: String] = [:]
        for (path, artefact) in files where !made.contains(path) && !path.hasPrefix(".cp/") {
            guard let digest = artefact.sha256 else { continue }  // a log, never hashed
            sources[path] = digest
            if sources.count >= Self.contextLimit { break }
        }
        run.sources = sources
        return sources
    }

    static func view(_ job: Scheduler.Job, _ graph: BuildGraph, state: TaskState) -> TaskRunView {
        TaskRunView(
            task: job.name, rule: graph.tasks[Int(job.task)].rule, state: state, pass: job.pass, reason: job.reason)
    }

    /// The goals of `targets`: their outputs.
    private func goals(of targets: [String], in name: String, _ graph: BuildGraph) throws(MajorDomoError) -> [Int32] {
        let known = try self.targets(name)
        var goals: [Int32] = []
        for target in targets {
            guard let found = known.first(where: { $0.name == target }) else {
                throw .notFound(
                    "project '\(name)' has no target '\(target)'"
                        + (known.isEmpty ? "" : "; its targets: \(known.map(\.name).joined(separator: ", "))"))
            }
            goals += found.outputs.compactMap { graph.artefact($0) }
        }
        return goals
    }

    /// Project `name`'s task records.
    func records(_ name: String) throws(MajorDomoError) -> SQLiteBuildStateStore {
        if let open = recordStores[name] { return open }
        do {
            let store = try SQLiteBuildStateStore(path: recordsPath(name))
            recordStores[name] = store
            return store
        } catch {
            throw .failure("cannot open the records of project '\(name)': \(error)")
        }
    }
}
