import CPProtocol
import Foundation
import SQLite

/// A project the MajorDomo keeps: a directory on a pod, under a name.
public struct ProjectRecord: Sendable, Equatable, Codable {
    public var name: String
    /// The project's directory on `pod`, absolute.
    public var root: String
    /// The pod whose files these are (where its watcher runs).
    public var pod: String

    public init(name: String, root: String, pod: String) {
        self.name = name
        self.root = root
        self.pod = pod
    }
}

/// The MajorDomo's state in one SQLite database (`majordomo.db` in the state directory): the
/// projects, and the types and rules each Chef registered. Written in single statements or
/// transactions, so a crash leaves the old state or the new one. Use it from one actor.
public final class MajorDomoStore {
    public static let schema = Schema(
        name: "a MajorDomo's state", applicationID: 0x6370_4D44,  // "cpMD"
        version: 3, remedy: "start it with another --state directory, or move the file away"
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
        try database.query("SELECT name, root, pod FROM projects ORDER BY name") { row in
            ProjectRecord(name: row.text(0) ?? "", root: row.text(1) ?? "", pod: row.text(2) ?? "")
        }
    }

    /// Adds or replaces the project called `project.name`.
    public func save(_ project: ProjectRecord) throws {
        try database.run(
            "INSERT OR REPLACE INTO projects(name, root, pod, added) VALUES(?, ?, ?, ?)",
            [.text(project.name), .text(project.root), .text(project.pod), .real(Date().timeIntervalSince1970)])
    }

    /// Forgets the project `name` and its files; false if there was none.
    @discardableResult
    public func removeProject(_ name: String) throws -> Bool {
        try database.transaction {
            try database.run("DELETE FROM artefacts WHERE project = ?", [.text(name)])
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
}
