import CPProtocol

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

    /// Restarts the quiet period; when it ends, everything that changed is announced.
    private func announceSoon(_ what: Subjects.Announcement) {
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
