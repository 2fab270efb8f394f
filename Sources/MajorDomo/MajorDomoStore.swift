import CPProtocol
import DependencyGraph
import Foundation
import SQLite

/// A project the MajorDomo keeps: a directory on a pod, under a name.
public struct ProjectRecord: Sendable, Equatable, Codable {
    public var name: String
    /// The project's directory on `pod`, absolute.
    public var root: String
    /// The pod whose files these are (where its watcher runs).
    public var pod: String
    /// `[user@]host[:port]` of the pod's SFTP server, from which Chefs of other pods fetch the
    /// project's files; nil: only Chefs that see `root` (the same pod, a shared filesystem).
    public var sftp: String?

    public init(name: String, root: String, pod: String, sftp: String? = nil) {
        self.name = name
        self.root = root
        self.pod = pod
        self.sftp = sftp
    }
}

/// The MajorDomo's state in one SQLite database (`majordomo.db` in the state directory): the
/// projects, and the types and rules each Chef registered. Written in single statements or
/// transactions, so a crash leaves the old state or the new one. Use it from one actor.
public final class MajorDomoStore {
    public static let schema = Schema(
        name: "a MajorDomo's state", applicationID: 0x6370_4D44,  // "cpMD"
        version: 8, remedy: "start it with another --state directory, or move the file away"
    ) { database, from in
        if from < 1 {
            try database.execute(
                """
                CREATE TABLE projects(name TEXT PRIMARY KEY, root TEXT NOT NULL UNIQUE, pod TEXT NOT NULL,
                    added REAL NOT NULL);
                CREATE TABLE chef_types(chef TEXT NOT NULL, name TEXT NOT NULL, extensions TEXT NOT NULL,
                    is_log INTEGER NOT NULL, PRIMARY KEY(chef, name));
                CREATE TABLE chef_rules(chef TEXT NOT NULL, name TEXT NOT NULL, dependencies TEXT NOT NULL,
                    secondary TEXT NOT NULL, outputs TEXT NOT NULL, PRIMARY KEY(chef, name));
                """)
        }
        if from < 2 {
            // Version 2: what the watchers reported of each project's files.
            try database.execute(
                """
                CREATE TABLE artefacts(project TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT, size INTEGER NOT NULL,
                    mtime REAL NOT NULL, mode INTEGER NOT NULL, pod TEXT NOT NULL, PRIMARY KEY(project, path));
                """)
        }
        if from < 3 {
            // Version 3: the kind of Chef a rule's jobs go to.
            try database.execute("ALTER TABLE chef_rules ADD COLUMN kind TEXT")
        }
        if from < 4 {
            // Version 4: builds, their task runs and the output kept of each.
            try database.execute(
                """
                CREATE TABLE builds(id TEXT PRIMARY KEY, project TEXT NOT NULL, targets TEXT NOT NULL,
                    trigger TEXT NOT NULL, state TEXT NOT NULL, created REAL NOT NULL, finished REAL,
                    jobs INTEGER NOT NULL, failures TEXT NOT NULL);
                CREATE TABLE task_runs(build TEXT NOT NULL, position INTEGER NOT NULL, task TEXT NOT NULL,
                    rule TEXT NOT NULL, state TEXT NOT NULL, pass INTEGER NOT NULL, reason TEXT NOT NULL,
                    job_id TEXT, chef TEXT, exit_code INTEGER, elapsed REAL, detail TEXT,
                    PRIMARY KEY(build, task));
                CREATE TABLE run_logs(build TEXT NOT NULL, task TEXT NOT NULL, lines TEXT NOT NULL,
                    bytes INTEGER NOT NULL, PRIMARY KEY(build, task));
                """)
        }
        if from < 5 {
            // Version 5: tasks registered by tools (`register.tasks`), by project.
            try database.execute(
                """
                CREATE TABLE registered_tasks(project TEXT NOT NULL, task TEXT NOT NULL, chef TEXT NOT NULL,
                    body TEXT NOT NULL, PRIMARY KEY(project, task));
                """)
        }
        if from < 6 {
            // Version 6: how many tasks a build considered, and the changed files it was for.
            try database.execute(
                """
                ALTER TABLE builds ADD COLUMN considered INTEGER;
                ALTER TABLE builds ADD COLUMN changed TEXT;
                ALTER TABLE builds ADD COLUMN changed_count INTEGER;
                """)
        }
        if from < 7 {
            // Version 7: each cycle's passes (JSON), each task run's queued, started, ended times.
            try database.execute(
                """
                ALTER TABLE builds ADD COLUMN cycles TEXT;
                ALTER TABLE task_runs ADD COLUMN queued REAL;
                ALTER TABLE task_runs ADD COLUMN started REAL;
                ALTER TABLE task_runs ADD COLUMN ended REAL;
                """)
        }
        if from < 8 {
            // Version 8: the SFTP address of a project's pod.
            try database.execute("ALTER TABLE projects ADD COLUMN sftp TEXT")
        }
    }

    public let path: String
    private let database: Database

    /// Opens (creating if need be) the database at `path`.
    public init(path: String) throws {
        self.path = path
        database = try Database(path: path, label: "state", schema: Self.schema)
    }

    // MARK: Projects

    /// Every project, by name.
    public func projects() throws -> [ProjectRecord] {
        try database.query("SELECT name, root, pod, sftp FROM projects ORDER BY name") { row in
            ProjectRecord(name: row.text(0) ?? "", root: row.text(1) ?? "", pod: row.text(2) ?? "", sftp: row.text(3))
        }
    }

    /// Adds or replaces the project called `project.name`.
    public func save(_ project: ProjectRecord) throws {
        try database.run(
            "INSERT OR REPLACE INTO projects(name, root, pod, sftp, added) VALUES(?, ?, ?, ?, ?)",
            [
                .text(project.name), .text(project.root), .text(project.pod), project.sftp.map { .text($0) } ?? .null,
                .real(Date().timeIntervalSince1970),
            ])
    }

    /// Forgets the project `name` and its files; false if there was none.
    @discardableResult
    public func removeProject(_ name: String) throws -> Bool {
        try database.transaction {
            try database.run("DELETE FROM artefacts WHERE project = ?", [.text(name)])
            try database.run("DELETE FROM registered_tasks WHERE project = ?", [.text(name)])
            try database.run("DELETE FROM projects WHERE name = ?", [.text(name)])
        }
        return database.changes > 0
    }

    // MARK: Artefacts

    /// Records the files of `project` as `changes` say (nil: the path is gone), in one
    /// transaction.
    public func apply(_ changes: [String: Artefact?], to project: String) throws {
        try database.transaction {
            for (path, artefact) in changes {
                guard let artefact else {
                    try database.run(
                        "DELETE FROM artefacts WHERE project = ? AND path = ?", [.text(project), .text(path)])
                    continue
                }
                try database.run(
                    "INSERT OR REPLACE INTO artefacts(project, path, sha256, size, mtime, mode, pod) VALUES(?, ?, ?, ?, ?, ?, ?)",
                    [
                        .text(project), .text(path), artefact.sha256.map { .text($0) } ?? .null,
                        .integer(Int64(bitPattern: artefact.size)), .real(artefact.mtime),
                        .integer(Int64(artefact.mode)),
                        .text(artefact.pod),
                    ])
            }
        }
    }

    /// Every file of `project` known, by path.
    public func artefacts(of project: String) throws -> [String: Artefact] {
        var found: [String: Artefact] = [:]
        _ = try database.query(
            "SELECT path, sha256, size, mtime, mode, pod FROM artefacts WHERE project = ?", [.text(project)]
        ) { row in
            found[row.text(0) ?? ""] = Artefact(
                sha256: row.text(1), size: UInt64(bitPattern: row.int64(2)), mtime: row.double(3),
                mode: UInt32(truncatingIfNeeded: row.int64(4)), pod: row.text(5) ?? "")
        }
        return found
    }

    // MARK: Registrations

    /// Records what a Chef said of a type (a newer registration replaces an older one).
    public func save(_ type: RegisterType) throws {
        try database.run(
            "INSERT OR REPLACE INTO chef_types(chef, name, extensions, is_log) VALUES(?, ?, ?, ?)",
            [
                .text(type.chefName), .text(type.typeName), .text(Self.list(type.extensions)),
                .integer(type.isLog ? 1 : 0),
            ])
    }

    /// Records what a Chef said of a rule.
    public func save(_ rule: RegisterRule) throws {
        try database.run(
            "INSERT OR REPLACE INTO chef_rules(chef, kind, name, dependencies, secondary, outputs) VALUES(?, ?, ?, ?, ?, ?)",
            [
                .text(rule.chefName), rule.chefKind.map { .text($0) } ?? .null, .text(rule.ruleName),
                .text(Self.list(rule.theRule.dependencies)),
                .text(Self.list(rule.theRule.secondaryDependencies)), .text(Self.list(rule.theRule.outputs)),
            ])
    }

    /// Every type registered, with the Chef that offers it.
    public func types() throws -> [RegisterType] {
        try database.query("SELECT chef, name, extensions, is_log FROM chef_types ORDER BY name, chef") { row in
            RegisterType(
                chefName: row.text(0) ?? "", typeName: row.text(1) ?? "", extensions: Self.list(row.text(2)),
                isLog: row.int64(3) != 0)
        }
    }

    /// Every rule registered, with the Chef that offers it.
    public func rules() throws -> [RegisterRule] {
        try database.query(
            "SELECT chef, kind, name, dependencies, secondary, outputs FROM chef_rules ORDER BY name, chef"
        ) {
            row in
            RegisterRule(
                chefName: row.text(0) ?? "", chefKind: row.text(1), ruleName: row.text(2) ?? "",
                theRule: .init(
                    dependencies: Self.list(row.text(3)), secondaryDependencies: Self.list(row.text(4)),
                    outputs: Self.list(row.text(5))))
        }
    }

    /// A list of strings as stored: JSON.
    private static func list(_ values: [String]) -> String {
        (try? JSONEncoder().encode(values)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    private static func list(_ text: String?) -> [String] {
        text.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
    }

    // MARK: Builds

    /// Records a build as it is now.
    public func save(_ build: BuildSummary) throws {
        let cycles = build.cycles.flatMap { try? JSONEncoder().encode($0) }
        try database.run(
            """
            INSERT OR REPLACE INTO builds(id, project, targets, trigger, state, created, finished, jobs, failures,
                considered, changed, changed_count, cycles)
            VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(build.id), .text(build.project), .text(Self.list(build.targets)), .text(build.trigger),
                .text(build.state.rawValue), .real(build.created), build.finished.map { .real($0) } ?? .null,
                .integer(Int64(build.jobs)), .text(Self.list(build.failures)),
                build.considered.map { .integer(Int64($0)) } ?? .null,
                build.changedFiles.map { .text(Self.list($0)) } ?? .null,
                build.changedCount.map { .integer(Int64($0)) } ?? .null,
                cycles.map { .text(String(decoding: $0, as: UTF8.self)) } ?? .null,
            ])
    }

    /// Records a task's run in build `build`, `position` being its place in the build's list.
    public func save(_ run: TaskRunView, of build: String, at position: Int) throws {
        try database.run(
            """
            INSERT OR REPLACE INTO task_runs(build, position, task, rule, state, pass, reason, job_id, chef,
                exit_code, elapsed, detail, queued, started, ended) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(build), .integer(Int64(position)), .text(run.task), .text(run.rule), .text(run.state.rawValue),
                .integer(Int64(run.pass)), .text(run.reason), run.jobId.map { .text($0) } ?? .null,
                run.chef.map { .text($0) } ?? .null, run.exitCode.map { .integer(Int64($0)) } ?? .null,
                run.elapsed.map { .real($0) } ?? .null, run.detail.map { .text($0) } ?? .null,
                run.queued.map { .real($0) } ?? .null, run.started.map { .real($0) } ?? .null,
                run.ended.map { .real($0) } ?? .null,
            ])
    }

    /// Records what was kept of each task's output in build `build`.
    public func saveLogs(_ logs: [String: (lines: [String], bytes: Int)], of build: String) throws {
        try database.transaction {
            for (task, log) in logs {
                try database.run(
                    "INSERT OR REPLACE INTO run_logs(build, task, lines, bytes) VALUES(?, ?, ?, ?)",
                    [.text(build), .text(task), .text(Self.list(log.lines)), .integer(Int64(log.bytes))])
            }
        }
    }

    /// Every build recorded, oldest first, with its task runs.
    public func builds() throws -> [BuildDetail] {
        var runs: [String: [TaskRunView]] = [:]
        _ = try database.query(
            """
            SELECT build, task, rule, state, pass, reason, job_id, chef, exit_code, elapsed, detail, queued,
                started, ended
            FROM task_runs ORDER BY build, position
            """
        ) { row in
            let view = TaskRunView(
                task: row.text(1) ?? "", rule: row.text(2) ?? "",
                state: TaskState(rawValue: row.text(3) ?? "") ?? .failed, pass: Int(row.int64(4)),
                reason: row.text(5) ?? "", jobId: row.text(6), chef: row.text(7),
                exitCode: row.isNull(8) ? nil : Int32(truncatingIfNeeded: row.int64(8)),
                elapsed: row.isNull(9) ? nil : row.double(9), detail: row.text(10),
                queued: row.isNull(11) ? nil : row.double(11), started: row.isNull(12) ? nil : row.double(12),
                ended: row.isNull(13) ? nil : row.double(13))
            runs[row.text(0) ?? "", default: []].append(view)
        }
        return try database.query(
            """
            SELECT id, project, targets, trigger, state, created, finished, jobs, failures, considered, changed,
                changed_count, cycles
            FROM builds ORDER BY created, id
            """
        ) { row in
            let id = row.text(0) ?? ""
            let summary = BuildSummary(
                id: id, project: row.text(1) ?? "", targets: Self.list(row.text(2)), trigger: row.text(3) ?? "",
                state: BuildState(rawValue: row.text(4) ?? "") ?? .failed, created: row.double(5),
                finished: row.isNull(6) ? nil : row.double(6), jobs: Int(row.int64(7)),
                considered: row.isNull(9) ? nil : Int(row.int64(9)), failures: Self.list(row.text(8)),
                changedFiles: row.isNull(10) ? nil : Self.list(row.text(10)),
                changedCount: row.isNull(11) ? nil : Int(row.int64(11)),
                cycles: row.text(12).flatMap {
                    try? JSONDecoder().decode([Scheduler.CycleProgress].self, from: Data($0.utf8))
                })
            return BuildDetail(build: summary, tasks: runs[id] ?? [])
        }
    }

    /// The output kept of each task of build `build`, and how many bytes there were.
    public func logs(of build: String) throws -> [String: (lines: [String], bytes: Int)] {
        var found: [String: (lines: [String], bytes: Int)] = [:]
        _ = try database.query("SELECT task, lines, bytes FROM run_logs WHERE build = ?", [.text(build)]) { row in
            found[row.text(0) ?? ""] = (Self.list(row.text(1)), Int(row.int64(2)))
        }
        return found
    }

    // MARK: Registered tasks

    /// Records a task a tool registered for its project (replacing one of the same name).
    public func save(_ task: RegisterTask) throws {
        let body = String(decoding: try JSONEncoder().encode(task.theTask), as: UTF8.self)
        try database.run(
            "INSERT OR REPLACE INTO registered_tasks(project, task, chef, body) VALUES(?, ?, ?, ?)",
            [.text(task.project), .text(task.taskName), .text(task.chefName), .text(body)])
    }

    /// The tasks registered for `project`.
    public func registeredTasks(of project: String) throws -> [RegisterTask] {
        try database.query(
            "SELECT task, chef, body FROM registered_tasks WHERE project = ? ORDER BY task", [.text(project)]
        ) { row -> RegisterTask? in
            guard let body = row.text(2),
                let task = try? JSONDecoder().decode(RegisterTask.TheTask.self, from: Data(body.utf8))
            else { return nil }
            return RegisterTask(
                chefName: row.text(1) ?? "", project: project, taskName: row.text(0) ?? "", theTask: task)
        }.compactMap { $0 }
    }
}
