import DependencyGraph
import Foundation
import RulesManager

/// Builds driven by file changes (DESIGN §6): a project's changes settle (`settle` after the
/// last), then one incremental build covers them, considering only what they reach
/// (`Scheduler(changed:)`). A change that comes while a build of the project runs supersedes
/// it: no new job goes out, those out come back, and one new build covers both. A changed
/// definition file (`*.tyml`, `*.pyml`) loads the project again and checks every task.
extension Coordinator {
    /// Notes that `paths` of project `name` have new content; a build follows once quiet. A
    /// project never built in this state directory (no records) is not built on a change:
    /// its first build is asked for.
    func noteChanges(_ name: String, _ paths: [String]) {
        guard let settle = configuration.settle, !paths.isEmpty,
            FileManager.default.fileExists(atPath: recordsPath(name))
        else { return }
        pendingChanges[name, default: []].formUnion(paths)
        settleTasks[name]?.cancel()
        settleTasks[name] = Task {
            guard (try? await Task.sleep(for: settle)) != nil else { return }
            await self.settleTimeEnded(name)
        }
    }

    /// The quiet time of project `name` is over (the timer's own task: it is not cancelled).
    private func settleTimeEnded(_ name: String) async {
        settleTasks[name] = nil
        await settled(name)
    }

    /// The changes of project `name` are quiet: build them, or supersede the running build.
    func settled(_ name: String) async {
        settleTasks.removeValue(forKey: name)?.cancel()
        if let running = runningBuilds(of: name).first {
            // A file only a task's record names (a discovered input, a source tasks are inferred
            // from) waits for the build to end: the build's own runs write some of them (a
            // chapter's .aux), and the build may have read the others already.
            let declared = pendingChanges[name, default: []].contains { path in
                Self.isDefinitionFile(path) || projectGraph(name)?.graph.artefact(path) != nil
            }
            if declared && !running.superseded {
                running.superseded = true
                running.waiting = []
                logger.notice("build \(running.id) of project '\(name)' is superseded by newer changes")
                await advance(running)
            }
            return  // the build that ends starts the next one
        }
        guard let paths = pendingChanges.removeValue(forKey: name), !paths.isEmpty else { return }
        await buildChanges(name, paths: paths, after: lastBuild(of: name))
    }

    /// One build of project `name` for the changed `paths` (and what an unfinished `earlier`
    /// build left).
    private func buildChanges(_ name: String, paths: Set<String>, after earlier: BuildRun?) async {
        var definitions = paths.contains(where: Self.isDefinitionFile)
        if definitions {
            _ = try? await updateProject(name)
        } else if let inferred = projectGraph(name)?.inferred, !inferred.isEmpty,
            paths.contains(where: Inference.mayChangeTasks)
        {
            // Tasks inferred from the files: a source may change them (a new \bibliography,
            // a new file with main). Loaded again; when they are the same, a change as any.
            _ = try? await updateProject(name)
            definitions = projectGraph(name)?.inferred != inferred
        }
        guard let project = projectGraph(name) else { return }
        let graph = project.graph
        // A file no task names may be one a tool reported reading: each reader whose record
        // holds other content than the file has now stands for it through its outputs (their
        // producer is then considered, and its record says why it runs). A file a run read and
        // wrote itself (a chapter's .aux) is as the record holds it once its cycle settled.
        let unknown = Set(paths.filter { graph.artefact($0) == nil && !Self.isDefinitionFile($0) })
        let store = unknown.isEmpty ? nil : try? records(name)
        let table = files(of: name)
        var discovered = Set<String>()
        var readersOutputs: [Int32] = []
        for reader in (try? store?.tasks(discovering: unknown)) ?? [] {
            guard let task = graph.task(named: reader), let record = try? store?.record(of: reader) else { continue }
            let stale = record.discovered.filter {
                unknown.contains($0.path) && $0.digest?.hex != table[$0.path]?.sha256
            }
            guard !stale.isEmpty else { continue }
            discovered.formUnion(stale.map(\.path))
            readersOutputs += graph.tasks[Int(task)].outputs
        }
        var changed: [Int32]? = paths.compactMap { graph.artefact($0) } + readersOutputs
        if definitions || (earlier?.state == .cancelled && earlier?.changed == nil) {
            changed = nil  // check every task
        } else if let earlier, earlier.state == .cancelled, let left = earlier.changed {
            changed = Array(Set(left + (changed ?? [])))
        }
        if let ids = changed, ids.isEmpty { return }  // nothing the graph knows
        do {
            _ = try await startBuild(
                name, targets: [], trigger: "change", changed: changed,
                paths: paths.filter {
                    graph.artefact($0) != nil || Self.isDefinitionFile($0) || discovered.contains($0)
                })
        } catch {
            logger.error("project '\(name)': cannot build the changes of \(paths.sorted().prefix(3)): \(error)")
        }
    }

    /// A tasks or projects file: a change to it loads the project again.
    static func isDefinitionFile(_ path: String) -> Bool {
        DefinitionFiles.has(path, extension: "tyml") || DefinitionFiles.has(path, extension: "pyml")
    }

    /// Whether nothing is building or waiting to: no build runs, no change settles.
    public var isIdle: Bool {
        pendingChanges.isEmpty && settleTasks.isEmpty && builds.values.allSatisfy { $0.state != .running }
    }

    /// The newest build of project `name`.
    func lastBuild(of name: String) -> BuildRun? {
        buildOrder.reversed().lazy.compactMap { self.builds[$0] }.first { $0.project == name }
    }

    /// A build of `name` ended: the changes that came meanwhile are built now.
    func buildEnded(_ run: BuildRun) async {
        guard pendingChanges[run.project]?.isEmpty == false, settleTasks[run.project] == nil else { return }
        await settled(run.project)
    }
}
