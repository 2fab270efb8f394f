import CPProtocol
import RulesManager

/// What the Chefs registered (DESIGN §3): kept in the store with the Chef that offers each
/// type and rule, and announced on `registered.*` once registrations have been quiet for
/// `registrationQuiet` (a Chef registers everything in a burst).
extension Coordinator {
    /// Records a type a Chef offers.
    public func register(_ type: RegisterType) throws(MajorDomoError) {
        try record("type '\(type.typeName)' of chef '\(type.chefName)'") { try $0.save(type) }
        announceSoon(.types)
    }

    /// Records a rule a Chef offers.
    public func register(_ rule: RegisterRule) async throws(MajorDomoError) {
        try record("rule '\(rule.ruleName)' of chef '\(rule.chefName)'") { try $0.save(rule) }
        ruleKinds = nil
        announceSoon(.rules)
        await resumeWaitingBuilds()
    }

    /// The names registered of `what`, sorted, each once.
    public func registeredNames(_ what: Subjects.Announcement) -> [String] {
        let names: [String]
        switch what {
        case .types: names = ((try? storeTypes()) ?? []).map(\.typeName)
        case .rules: names = ((try? storeRules()) ?? []).map(\.ruleName)
        case .tasks: names = projectsTasks().flatMap { $0 }
        case .artefacts: names = projectsArtefacts().flatMap { $0 }
        }
        return Array(Set(names)).sorted()
    }

    /// Every type registered, with its Chef.
    public func registeredTypes() throws(MajorDomoError) -> [RegisterType] {
        do { return try storeTypes() } catch { throw .failure("cannot read the registered types: \(error)") }
    }

    /// Every rule registered, with its Chef.
    public func registeredRules() throws(MajorDomoError) -> [RegisterRule] {
        do { return try storeRules() } catch { throw .failure("cannot read the registered rules: \(error)") }
    }

    /// Adds a task a tool registered (a step it discovered, as a tasks file would hold it) to
    /// its project, whose graph is loaded again with it; refused, with nothing kept, when a path
    /// is not clean or the project does not load with it.
    public func register(_ task: RegisterTask) async throws(MajorDomoError) {
        try requireProject(task.project)
        let paths = task.theTask.dependencies + task.theTask.secondaryDependencies + task.theTask.outputs
        if let bad = paths.first(where: { ProjectPath.normalize($0) != $0 }) {
            throw .badRequest("task '\(task.taskName)': '\(bad)' is not a clean path relative to the project")
        }
        guard !task.theTask.outputs.isEmpty else { throw .badRequest("task '\(task.taskName)' has no outputs") }
        guard let record = projectRecord(task.project) else { return }
        let registered = registeredTasks(of: task.project).filter { $0.taskName != task.taskName } + [task]
        let loaded = await Self.load(record, rulePaths: configuration.rulePaths, registered: registered)
        if let problem = loaded.problem { throw .unprocessable(problem) }
        try self.record("task '\(task.taskName)' of project '\(task.project)'") { try $0.save(task) }
        replace(loaded)
        announceSoon(.tasks)
        announceSoon(.artefacts)
    }

    /// Restarts the quiet period; when it ends, everything that changed is announced.
    func announceSoon(_ what: Subjects.Announcement) {
        unannouncedKinds.insert(what)
        pendingAnnouncementTask?.cancel()
        let quiet = configuration.registrationQuiet
        pendingAnnouncementTask = Task {
            guard (try? await Task.sleep(for: quiet)) != nil else { return }
            await self.announcePending()
        }
    }

    private func announcePending() async {
        let kinds = unannouncedKinds
        unannouncedKinds = []
        for what in Subjects.Announcement.allCases where kinds.contains(what) {
            await announcerOrNil?.announce(what, names: registeredNames(what))
        }
    }
}
