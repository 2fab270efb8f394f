import Foundation

/// Builds kept in the state database (DESIGN §6): each build and its task runs as they change,
/// and the output kept of each task when the build ends. A MajorDomo started again lists them,
/// and a build that was running when it stopped is marked so and built again.
extension Coordinator {
    /// Reads the builds of earlier runs (the newest `historyLimit` are listed); those that
    /// were running did not end: cancelled, and their projects built again by
    /// `resumeInterruptedBuilds`.
    func loadHistory() throws {
        let stored = try storeBuilds()
        for (index, var detail) in stored.enumerated() {
            if detail.build.state == .running || detail.build.state == .queued {
                detail.build.state = .cancelled
                detail.build.failures.append("the MajorDomo stopped during it")
                for index in detail.tasks.indices where detail.tasks[index].state == .running {
                    detail.tasks[index].state = .cancelled
                }
                let stopped = detail
                persist("build \(stopped.build.id)") { store in
                    try store.save(stopped.build)
                    for (position, run) in stopped.tasks.enumerated() {
                        try store.save(run, of: stopped.build.id, at: position)
                    }
                }
                if !interrupted.contains(detail.build.project) { interrupted.append(detail.build.project) }
            }
            guard index >= stored.count - Self.historyLimit else { continue }
            history[detail.build.id] = detail
            buildOrder.append(detail.build.id)
        }
    }

    /// Builds again every project whose build the MajorDomo's last stop interrupted (every
    /// task checked: what was up to date stays so, what was in flight runs again).
    public func resumeInterruptedBuilds() async {
        let projects = interrupted
        interrupted = []
        for name in projects where projectGraph(name) != nil {
            do {
                _ = try await startBuild(name, targets: [], trigger: "resume")
            } catch {
                logger.error("cannot build project '\(name)' again after the stop: \(error)")
            }
        }
    }

    /// Writes build `run` as it is now; its output too once it has ended.
    func persistBuild(_ run: BuildRun) {
        let summary = run.summary
        var logs: [String: (lines: [String], bytes: Int)] = [:]
        if run.state != .running {
            for (task, lines) in run.logs { logs[task] = (lines, run.logBytes[task] ?? 0) }
        }
        persist("build \(run.id)") { store in
            try store.save(summary)
            if !logs.isEmpty { try store.saveLogs(logs, of: run.id) }
        }
    }

    /// Writes a task's run in build `run`.
    func persistRun(_ run: BuildRun, _ view: TaskRunView) {
        let position = run.position[view.task] ?? run.order.count
        persist("a run of '\(view.task)'") { try $0.save(view, of: run.id, at: position) }
    }
}
