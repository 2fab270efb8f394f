import Foundation

/// The events of builds, tasks, files and Chefs (DESIGN §6 `GET /events`).
extension Coordinator {
    /// The events after `lastID` still held, then each new one; a keep-alive after every
    /// `keepAlive` of quiet. The stream ends when the consumer stops or the MajorDomo does.
    public func subscribe(after lastID: Int?, keepAlive: Duration = .seconds(15)) -> AsyncStream<EventDelivery> {
        events.subscribe(after: lastID, keepAlive: keepAlive) { [weak self] key in
            Task { await self?.unsubscribe(key) }
        }
    }

    private func unsubscribe(_ key: UUID) { events.unsubscribe(key) }

    /// The id of the newest event; 0 before the first.
    public var lastEventID: Int { events.lastID }

    /// Ends every event stream (before the listeners stop: an open stream would hold them).
    public func endEventStreams() {
        events.finishAll()
        logFollowers.finishAll()
    }

    /// A task's run changed: noted in its build and told to subscribers.
    func note(_ run: BuildRun, _ view: TaskRunView) {
        run.note(view)
        persistRun(run, view)
        events.emit(.task, TaskEvent(build: run.id, project: run.project, run: view))
    }

    /// A build started or ended.
    func emitBuild(_ run: BuildRun) {
        persistBuild(run)
        events.emit(.build, run.summary)
        if run.state != .running {
            // A task's last lines travel on core NATS, its result through JetStream: they may
            // come after the result. Followers get a moment more for them.
            let id = run.id
            Task {
                try? await Task.sleep(for: Self.lateLogGrace)
                await self.endFollowers(of: id)
            }
        }
    }

    /// How long a build's log followers stay after it ended, for lines still on their way.
    static let lateLogGrace = Duration.milliseconds(300)

    private func endFollowers(of id: String) { logFollowers.end(build: id) }

    /// Files of project `name` changed.
    func emitFiles(_ name: String, _ paths: [String]) {
        guard !paths.isEmpty else { return }
        events.emit(
            .files,
            FilesEvent(project: name, paths: Array(paths.sorted().prefix(FilesEvent.listed)), count: paths.count))
    }

    /// Chefs silent for longer than `chefSilence` are gone: said once for each.
    public func sweepChefs() {
        for (name, chef) in chefs
        where chef.announcedAlive && Date().timeIntervalSince(chef.lastSeen) >= Self.chefSilence {
            chefs[name]?.announcedAlive = false
            if let view = chefList().first(where: { $0.name == name }) { events.emit(.chef, view) }
        }
    }
}
