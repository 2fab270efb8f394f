import ArtefactManager
import CPModel
import CPProtocol
import DependencyGraph
import Foundation
import Logging
import RulesManager

/// Asks a pod's watcher to watch a project's directory (`watchRequest.<pod>` on NATS).
public protocol ProjectWatcher: Sendable {
    /// Returns once the watcher watches `root`; throws if none answered.
    func watch(root: String, pod: String, logGlobs: [String]) async throws
}

/// Tells the Chefs what is registered (`registered.<what>` on NATS).
public protocol RegistrationAnnouncer: Sendable {
    func announce(_ what: Subjects.Announcement, names: [String]) async
}

/// The MajorDomo's core (DESIGN §6), with no knowledge of NATS or HTTP: the projects with
/// their loaded graphs, and what the Chefs registered, kept in the store. Loading a project
/// (parsing, walking its files) runs on a thread of its own, never on the actor's.
public actor Coordinator {
    /// What the core is told at start.
    public struct Configuration: Sendable {
        /// Rules files (`*.ryml`) the projects' graphs are built with.
        public var rulePaths: [String]
        /// This MajorDomo's pod: where a project's files are when a request names none.
        public var pod: String
        /// How long registrations must be quiet before `registered.*` is announced.
        public var registrationQuiet: Duration = .milliseconds(500)
        /// How long a project's changes must be quiet before they become a build; nil: builds
        /// only on request.
        public var settle: Duration?
        /// Ask a watcher heard for the first time (started, or started again) to watch its
        /// pod's projects: a restarted watcher has forgotten them. Off where the watcher is
        /// given its roots itself (`cp up`).
        public var rewatch = true

        public init(rulePaths: [String], pod: String) {
            self.rulePaths = rulePaths
            self.pod = pod
        }
    }

    /// A project with what was loaded of it.
    struct Loaded {
        var record: ProjectRecord
        var project: Project?
        var definitions: [ProjectDefinition] = []
        var problem: String?
    }

    public nonisolated let configuration: Configuration
    let logger: Logger
    private let store: MajorDomoStore
    /// Where the state database is.
    let storePath: String
    private var projects: [String: Loaded] = [:]
    /// Each project's files as the watchers and Chefs reported them (the store's, kept in
    /// memory), one table per project that its builds' schedulers read too.
    private var artefacts: [String: ReportedFileStates] = [:]
    private let watcher: (any ProjectWatcher)?
    let announcerOrNil: (any RegistrationAnnouncer)?
    var pendingAnnouncementTask: Task<Void, Never>?
    var unannouncedKinds: Set<Subjects.Announcement> = []
    let jobQueue: (any JobQueue)?
    /// Every build of this run of the MajorDomo, by id, and their ids oldest first.
    var builds: [String: BuildRun] = [:]
    var buildOrder: [String] = []
    /// The build each job out with a Chef belongs to.
    var jobOwners: [String: String] = [:]
    /// Every job sent in this run, with its build and task (its log lines may come late).
    var jobTasks: [String: (build: String, task: String)] = [:]
    /// The kind of Chef each rule's jobs go to, read from the store once per registration
    /// (it was a query per job); nil: to be read again.
    var ruleKinds: [String: String]?
    /// The Chefs heard from, by name.
    var chefs: [String: ChefPresence] = [:]
    /// Each watcher heard from, by name, with when it started (to tell a restarted one).
    var watchers: [String: String] = [:]
    /// What happened, for `GET /events`.
    let events = EventLog()
    /// Whoever follows a running build's output.
    let logFollowers = LogFollowers()
    /// Builds of earlier runs of the MajorDomo (in `buildOrder` with the live ones).
    var history: [String: BuildDetail] = [:]
    /// Projects whose build was running when the MajorDomo stopped: built again at start.
    var interrupted: [String] = []
    /// Each project's task records, opened on first use.
    var recordStores: [String: SQLiteBuildStateStore] = [:]
    /// Paths whose content changed since the last build, by project, settling.
    var pendingChanges: [String: Set<String>] = [:]
    var settleTasks: [String: Task<Void, Never>] = [:]

    /// Opens the state in `statePath` and loads every project it names (a project whose
    /// definitions no longer load is kept, with the problem).
    public init(
        statePath: String, configuration: Configuration, watcher: (any ProjectWatcher)? = nil,
        announcer: (any RegistrationAnnouncer)? = nil, jobQueue: (any JobQueue)? = nil, logger: Logger
    ) async throws {
        store = try MajorDomoStore(path: statePath)
        storePath = statePath
        self.configuration = configuration
        self.watcher = watcher
        self.announcerOrNil = announcer
        self.jobQueue = jobQueue
        self.logger = logger
        for record in try store.projects() {
            projects[record.name] = await Self.load(
                record, rulePaths: configuration.rulePaths, registered: try store.registeredTasks(of: record.name))
            artefacts[record.name] = ReportedFileStates(try store.artefacts(of: record.name))
        }
        try loadHistory()
    }

    // MARK: Projects

    /// Every project, by name.
    public func projectList() -> [ProjectSummary] {
        projects.keys.sorted().compactMap { projects[$0].map(Self.summary) }
    }

    /// Adds the project in `directory` (absolute, on `pod`) under `name` (default: the
    /// directory's name), loads its graph and asks the pod's watcher to watch it (unless
    /// `watch` is false: `cp up` gives its watcher the root itself). With `sftp`, Chefs of other
    /// pods fetch its files from that address.
    public func addProject(directory: String, name: String?, pod: String?, sftp: String? = nil, watch: Bool = true)
        async throws(MajorDomoError) -> ProjectSummary
    {
        let root = try Self.checkDirectory(directory)
        if let sftp { try Self.checkSFTPAddress(sftp) }
        let name = try Self.checkName(name ?? URL(fileURLWithPath: root).lastPathComponent)
        if let existing = projects[name] {
            throw .conflict("a project called '\(name)' exists already (its root is '\(existing.record.root)')")
        }
        if let other = projects.values.first(where: { $0.record.root == root }) {
            throw .conflict("'\(root)' is added already, as project '\(other.record.name)'")
        }
        let record = ProjectRecord(name: name, root: root, pod: pod ?? configuration.pod, sftp: sftp)
        let loaded = await Self.load(record, rulePaths: configuration.rulePaths)
        if let problem = loaded.problem { throw .unprocessable(problem) }
        do {
            try store.save(record)
        } catch {
            throw .failure("cannot record project '\(name)': \(error)")
        }
        projects[name] = loaded
        artefacts[name] = ReportedFileStates([:])
        announceSoon(.tasks)
        announceSoon(.artefacts)
        if watch { await requestWatch(record) }
        logger.notice("project '\(name)' added: \(root)")
        return Self.summary(loaded)
    }

    /// Sets where Chefs of other pods fetch project `name`'s files (nil: nowhere).
    public func setSFTP(of name: String, to sftp: String?) throws(MajorDomoError) {
        var record = try loaded(name).record
        if let sftp { try Self.checkSFTPAddress(sftp) }
        record.sftp = sftp
        try self.record("project '\(name)'") { try $0.save(record) }
        projects[name]?.record = record
    }

    /// Loads project `name`'s definitions again (after they were edited).
    public func updateProject(_ name: String) async throws(MajorDomoError) -> ProjectSummary {
        let record = try loaded(name).record
        let loaded = await Self.load(
            record, rulePaths: configuration.rulePaths, registered: (try? store.registeredTasks(of: name)) ?? [])
        defer { announceSoon(.tasks); announceSoon(.artefacts) }
        projects[name] = loaded
        if let problem = loaded.problem { throw .unprocessable(problem) }
        return Self.summary(loaded)
    }

    /// Forgets project `name` (its files are not touched).
    public func removeProject(_ name: String) throws(MajorDomoError) {
        _ = try loaded(name)
        do {
            try store.removeProject(name)
        } catch {
            throw .failure("cannot forget project '\(name)': \(error)")
        }
        projects[name] = nil
        artefacts[name] = nil
        recordStores[name] = nil
        announceSoon(.tasks)
        announceSoon(.artefacts)
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: recordsPath(name) + suffix) }
        logger.notice("project '\(name)' removed")
    }

    /// Project `name`'s targets.
    public func targets(_ name: String) throws(MajorDomoError) -> [TargetSummary] {
        try loaded(name).definitions.flatMap(\.targets).map(TargetSummary.init)
    }

    /// Project `name` with its targets and tasks.
    public func definition(_ name: String) throws(MajorDomoError) -> ProjectDefinitionView {
        let loaded = try loaded(name)
        let graph = loaded.project?.graph
        return ProjectDefinitionView(
            project: Self.summary(loaded), targets: loaded.definitions.flatMap(\.targets).map(TargetSummary.init),
            tasks: graph.map { graph in graph.tasks.map { TaskSummary($0, in: graph) } } ?? [])
    }

    /// Target `target` of project `name`: its definition, the tasks building it takes, in
    /// build order, and the files it needs that no task makes.
    public func buildTarget(_ name: String, _ target: String) throws(MajorDomoError) -> BuildTargetView {
        let loaded = try loaded(name)
        let known = loaded.definitions.flatMap(\.targets)
        guard let found = known.first(where: { $0.name == target }) else {
            throw .notFound(
                "project '\(name)' has no target '\(target)'" + DidYouMean.phrase(for: target, among: known.map(\.name))
            )
        }
        guard let project = loaded.project else {
            throw .unprocessable("project '\(name)' has no graph: \(loaded.problem ?? "it did not load")")
        }
        let graph = project.graph
        let (tasks, sources) = graph.closure(of: found.outputs.compactMap { graph.artefact($0.value) })
        let components = project.components
        let ordered = Set(tasks.map { Int(components.componentOf[Int($0)]) }).sorted().flatMap {
            components.members[$0].filter(tasks.contains)  // a cycle's tasks in their pass order
        }
        return BuildTargetView(
            target: TargetSummary(found), tasks: ordered.map { TaskSummary(graph.tasks[Int($0)], in: graph) },
            sources: graph.paths(Array(sources)).sorted())
    }

    /// Project `name`'s graph as DOT, JSON or Mermaid.
    public func graph(_ name: String, format: GraphExport.Format) throws(MajorDomoError) -> String {
        guard let project = try loaded(name).project else {
            throw .unprocessable("project '\(name)' has no graph: \(projects[name]?.problem ?? "it did not load")")
        }
        return GraphExport.render(project.graph, project.components, as: format)
    }

    /// Runs `body` on the store; a failure is the MajorDomo's, naming `what` it was doing.
    func record(_ what: String, _ body: (MajorDomoStore) throws -> Void) throws(MajorDomoError) {
        do { try body(store) } catch { throw .failure("cannot record \(what): \(error)") }
    }

    func storeTypes() throws -> [RegisterType] { try store.types() }
    /// Runs `body` on the store, logging a failure: what it records is history, and a build
    /// must not stop because its history could not be written.
    func persist(_ what: String, _ body: (MajorDomoStore) throws -> Void) {
        do { try body(store) } catch { logger.error("cannot record \(what): \(error)") }
    }
    func storeBuilds() throws -> [BuildDetail] { try store.builds() }
    func storeLogs(of build: String) -> [String: (lines: [String], bytes: Int)] { (try? store.logs(of: build)) ?? [:] }
    func projectNames(on pod: String) -> [String] { projects.values.filter { $0.record.pod == pod }.map(\.record.name) }
    func projectRoot(_ name: String) -> String? { projects[name]?.record.root }
    func projectGraph(_ name: String) -> Project? { projects[name]?.project }
    func projectPod(_ name: String) -> String? { projects[name]?.record.pod }
    func projectRecord(_ name: String) -> ProjectRecord? { projects[name]?.record }
    func registeredTasks(of name: String) -> [RegisterTask] { (try? store.registeredTasks(of: name)) ?? [] }
    /// Puts a project loaded again in its place.
    func replace(_ loaded: Loaded) { projects[loaded.record.name] = loaded }
    /// The kind of Chef that offers `rule` (the first that registered it).
    func ruleKind(_ rule: String) -> String? {
        if let kinds = ruleKinds { return kinds[rule] }
        var kinds: [String: String] = [:]
        for registered in (try? store.rules()) ?? [] where kinds[registered.ruleName] == nil {
            kinds[registered.ruleName] = registered.kind
        }
        ruleKinds = kinds
        return kinds[rule]
    }
    /// Records files of project `name` reported by a Chef, in the store and in memory.
    func record(_ changes: [String: Artefact?], of name: String) {
        guard !changes.isEmpty else { return }
        do {
            try store.apply(changes, to: name)
        } catch {
            logger.error("cannot record the files of project '\(name)': \(error)")
        }
        setFiles(of: name) { files in
            for (path, artefact) in changes { files[path] = artefact }
        }
    }
    func files(of name: String) -> [String: Artefact] { artefacts[name]?.files ?? [:] }
    /// Project `name`'s table of files (made empty if it has none).
    func table(of name: String) -> ReportedFileStates {
        if let table = artefacts[name] { return table }
        let table = ReportedFileStates([:])
        artefacts[name] = table
        return table
    }
    /// Changes project `name`'s files in place (nothing else may hold the dictionary: a copy of
    /// a large project's files per change was most of a change's cost).
    func setFiles(of name: String, _ change: (inout [String: Artefact]) -> Void) {
        table(of: name).mutate(change)
    }
    func storeRules() throws -> [RegisterRule] { try store.rules() }
    func projectsTasks() -> [[String]] { projects.values.map { $0.project?.graph.tasks.map(\.name) ?? [] } }
    func projectsArtefacts() -> [[String]] { projects.values.map { $0.project?.graph.artefacts ?? [] } }

    /// Throws `.notFound` unless project `name` exists (cheaply: nothing is built of it).
    public func requireProject(_ name: String) throws(MajorDomoError) { _ = try loaded(name) }

    private func loaded(_ name: String) throws(MajorDomoError) -> Loaded {
        guard let loaded = projects[name] else {
            let known = projects.keys.sorted()
            throw .notFound(
                "no project '\(name)'" + DidYouMean.phrase(for: name, among: known)
                    + (known.isEmpty ? "; none is added" : ""))
        }
        return loaded
    }

    /// Asks the project's pod to watch it, streaming the files of every type registered as a
    /// log. A pod with no watcher is logged, not an error: the project is there all the same.
    @discardableResult
    func requestWatch(_ record: ProjectRecord) async -> Bool {
        guard let watcher else { return false }
        let logGlobs = Array(Set(((try? store.types()) ?? []).filter(\.isLog).flatMap(\.extensions))).sorted()
        do {
            try await watcher.watch(root: record.root, pod: record.pod, logGlobs: logGlobs)
            return true
        } catch {
            logger.warning("project '\(record.name)': no watcher of pod '\(record.pod)' answered: \(error)")
            return false
        }
    }

    // MARK: Loading

    /// Loads a project's graph and targets on a thread of its own.
    static func load(_ record: ProjectRecord, rulePaths: [String], registered: [RegisterTask] = []) async -> Loaded {
        let extra = registered.map(Self.definition)
        return await onThreadOfItsOwn("cp-load") {
            do {
                let project = try Project.load(
                    root: record.root, rulePaths: rulePaths, useCache: true, extraTasks: extra)
                let definitions = try ProjectDefinition.load([record.root])
                return Loaded(
                    record: record, project: project,
                    definitions: definitions.isEmpty ? project.inferredProject.map { [$0] } ?? [] : definitions)
            } catch {
                return Loaded(record: record, problem: "\(error)")
            }
        }
    }

    /// A registered task as a tasks file's task, its place naming who registered it.
    static func definition(_ task: RegisterTask) -> TaskDefinition {
        let place = SourceLocation(file: "register.tasks from chef '\(task.chefName)'", line: 1, column: 1)
        let located = { (paths: [String]) in paths.map { Located($0, at: place) } }
        return TaskDefinition(
            name: task.taskName, rule: Located(task.theTask.rule, at: place),
            dependencies: located(task.theTask.dependencies),
            secondaryDependencies: located(task.theTask.secondaryDependencies), outputs: located(task.theTask.outputs),
            mainFile: task.theTask.mainFile, location: place)
    }

    static func summary(_ loaded: Loaded) -> ProjectSummary {
        ProjectSummary(
            name: loaded.record.name, root: loaded.record.root, pod: loaded.record.pod, sftp: loaded.record.sftp,
            description: loaded.definitions.map(\.description).filter { !$0.isEmpty }.joined(separator: "; "),
            targets: loaded.definitions.flatMap(\.targets).map(\.name),
            tasks: loaded.project?.graph.tasks.count ?? 0, artefacts: loaded.project?.graph.artefacts.count ?? 0,
            cycles: loaded.project?.components.cycles.count ?? 0, problem: loaded.problem)
    }

    /// `[user@]host[:port]`: a host of letters, digits, `.`, `-`, `_` or `:` in `[…]` (IPv6), a
    /// port of 1…65535 (the Chef parses it again as it connects).
    static func checkSFTPAddress(_ address: String) throws(MajorDomoError) {
        let problem = MajorDomoError.badRequest(
            "'\(address.prefix(200))' is not an SFTP address: expected [USER@]HOST[:PORT], such as build@laptop:22")
        var rest = Substring(address)
        if let at = rest.lastIndex(of: "@") {
            let user = rest[..<at]
            guard !user.isEmpty, user.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
            else { throw problem }
            rest = rest[rest.index(after: at)...]
        }
        var host = rest
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw problem }
            host = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
            guard host.allSatisfy({ $0.isHexDigit || $0 == ":" }) else { throw problem }
        } else {
            host = rest.prefix { $0 != ":" }
            rest = rest.dropFirst(host.count)
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-_".contains($0)) }) else {
                throw problem
            }
        }
        guard !host.isEmpty, address.utf8.count <= 255 else { throw problem }
        if !rest.isEmpty {
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else {
                throw problem
            }
        }
    }

    /// An absolute, existing directory, normalised.
    static func checkDirectory(_ directory: String) throws(MajorDomoError) -> String {
        guard PathSyntax.isAbsolute(directory) else {
            throw .badRequest("'\(directory)' is not an absolute path: give the project's directory from '/'")
        }
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw .notFound("'\(root)' does not exist")
        }
        guard isDirectory.boolValue else { throw .badRequest("'\(root)' is not a directory") }
        return root
    }

    /// A project name: one path component, printable, not hidden.
    static func checkName(_ name: String) throws(MajorDomoError) -> String {
        guard !name.isEmpty, !name.hasPrefix("."), !name.contains("/"),
            name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }), name.utf8.count <= 200
        else {
            throw .badRequest(
                "'\(name)' cannot be a project name: use a name without '/', control characters or a leading '.'")
        }
        return name
    }
}
