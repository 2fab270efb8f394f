import CSQLite
import DependencyGraph
import Foundation
import Hashing

/// Task records and remembered file digests in one SQLite file (`.cp/state.db` for
/// `cp graph build`; the MajorDomo will use the same store): WAL mode, the schema's version in
/// `user_version`, each record written in one transaction (a crash leaves the old record or
/// the new one, never half of one). Records are read in one query on first use and kept in
/// memory; statements are prepared once.
public final class SQLiteBuildStateStore: BuildStateStore, DigestCache {
    public static let schemaVersion: Int32 = 2

    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "state '\(path)': \(reason)" }
    }

    public let path: String
    private var database: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    private var records: [String: TaskRecord]?

    /// Opens (creating if needed) the store at `path`, and its directory.
    public init(path: String) throws {
        self.path = path
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard
            sqlite3_open_v2(path, &database, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
                == SQLITE_OK
        else {
            let reason = database.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open it"
            sqlite3_close(database)
            database = nil
            throw Failure(path: path, reason: reason)
        }
        sqlite3_busy_timeout(database, 5000)
        do {
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
            try execute("PRAGMA foreign_keys=ON")
            let version = try userVersion()
            guard version <= Self.schemaVersion else {
                throw Failure(
                    path: path,
                    reason:
                        "its schema is version \(version); this cp reads up to version \(Self.schemaVersion) (delete the file to rebuild everything)"
                )
            }
            if version < 1 {
                try execute(
                    """
                    BEGIN;
                    CREATE TABLE IF NOT EXISTS tasks(name TEXT PRIMARY KEY, signature BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS task_files(
                        task TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
                        role INTEGER NOT NULL,  -- 0: input, 1: output
                        path TEXT NOT NULL,
                        digest BLOB,            -- NULL: a secondary input that did not exist
                        PRIMARY KEY(task, role, path));
                    PRAGMA user_version=1;
                    COMMIT;
                    """)
            }
            if version < 2 {
                try execute(
                    """
                    BEGIN;
                    CREATE TABLE IF NOT EXISTS file_digests(
                        path TEXT PRIMARY KEY, size INTEGER, modified INTEGER, inode INTEGER, device INTEGER,
                        mode INTEGER, digest BLOB NOT NULL);
                    PRAGMA user_version=2;
                    COMMIT;
                    """)
            }
        } catch {
            sqlite3_close(database)
            database = nil
            throw error
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(database)
    }

    public func record(of task: String) throws -> TaskRecord? {
        if records == nil { records = try loadRecords() }
        return records?[task]
    }

    /// Every record, in two queries.
    private func loadRecords() throws -> [String: TaskRecord] {
        var loaded: [String: TaskRecord] = [:]
        _ = try query("SELECT name, signature FROM tasks", []) { statement in
            if let signature = Self.digest(statement, 1) {
                loaded[String(cString: sqlite3_column_text(statement, 0))] = TaskRecord(
                    signature: signature, inputs: [:], outputs: [:])
            }
        }
        // A task's rows come together (a record is written in one go), so its maps are made at
        // their final size; a task whose rows were split would be merged.
        var task: String?
        var rows: [(input: Bool, path: String, digest: SHA256Digest?)] = []
        func flush() {
            guard let task, loaded[task] != nil else { return }
            var inputs = [String: SHA256Digest?](minimumCapacity: rows.count)
            var outputs = [String: SHA256Digest](minimumCapacity: 4)
            for row in rows {
                if row.input {
                    inputs[row.path] = .some(row.digest)
                } else if let digest = row.digest {
                    outputs[row.path] = digest
                }
            }
            if loaded[task]?.inputs.isEmpty == true && loaded[task]?.outputs.isEmpty == true {
                loaded[task]?.inputs = inputs
                loaded[task]?.outputs = outputs
            } else {
                loaded[task]?.inputs.merge(inputs) { $1 }
                loaded[task]?.outputs.merge(outputs) { $1 }
            }
        }
        _ = try query("SELECT task, role, path, digest FROM task_files", []) { statement in
            let name = String(cString: sqlite3_column_text(statement, 0))
            if name != task {
                flush()
                task = name
                rows.removeAll(keepingCapacity: true)
            }
            rows.append(
                (
                    sqlite3_column_int(statement, 1) == 0, String(cString: sqlite3_column_text(statement, 2)),
                    Self.digest(statement, 3)
                ))
        }
        flush()
        return loaded
    }

    public func loadDigests() throws -> [String: (identity: FileIdentity, digest: SHA256Digest)] {
        var loaded: [String: (identity: FileIdentity, digest: SHA256Digest)] = [:]
        _ = try query("SELECT path, size, modified, inode, device, mode, digest FROM file_digests", []) { statement in
            guard let digest = Self.digest(statement, 6) else { return }
            let identity = FileIdentity(
                size: UInt64(bitPattern: sqlite3_column_int64(statement, 1)),
                modified: sqlite3_column_int64(statement, 2),
                inode: UInt64(bitPattern: sqlite3_column_int64(statement, 3)),
                device: UInt64(bitPattern: sqlite3_column_int64(statement, 4)),
                mode: UInt32(truncatingIfNeeded: sqlite3_column_int64(statement, 5)))
            loaded[String(cString: sqlite3_column_text(statement, 0))] = (identity, digest)
        }
        return loaded
    }

    public func saveDigests(_ changes: [String: (identity: FileIdentity, digest: SHA256Digest)?]) throws {
        try execute("BEGIN IMMEDIATE")
        do {
            for (path, entry) in changes {
                guard let entry else {
                    try run("DELETE FROM file_digests WHERE path = ?", [.text(path)])
                    continue
                }
                let identity = entry.identity
                try run(
                    "INSERT OR REPLACE INTO file_digests(path, size, modified, inode, device, mode, digest) VALUES(?, ?, ?, ?, ?, ?, ?)",
                    [
                        .text(path), .integer(Int64(bitPattern: identity.size)), .integer(identity.modified),
                        .integer(Int64(bitPattern: identity.inode)), .integer(Int64(bitPattern: identity.device)),
                        .integer(Int64(identity.mode)), .blob(entry.digest),
                    ])
            }
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public func save(_ record: TaskRecord, of task: String) throws {
        try execute("BEGIN IMMEDIATE")
        do {
            try run("DELETE FROM tasks WHERE name = ?", [.text(task)])
            try run("INSERT INTO tasks(name, signature) VALUES(?, ?)", [.text(task), .blob(record.signature)])
            for (path, digest) in record.inputs {
                try run(
                    "INSERT INTO task_files(task, role, path, digest) VALUES(?, 0, ?, ?)",
                    [.text(task), .text(path), digest.map { .blob($0) } ?? .null])
            }
            for (path, digest) in record.outputs {
                try run(
                    "INSERT INTO task_files(task, role, path, digest) VALUES(?, 1, ?, ?)",
                    [.text(task), .text(path), .blob(digest)])
            }
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            records = nil  // read again from the file, which the rollback left as it was
            throw error
        }
        records?[task] = record
    }

    public func remove(task: String) throws {
        try run("DELETE FROM tasks WHERE name = ?", [.text(task)])
        records?[task] = nil
    }

    // MARK: SQLite

    private enum Value {
        case text(String)
        case integer(Int64)
        case blob(SHA256Digest)
        case null
    }

    private func failure(_ what: String) -> Failure {
        Failure(path: path, reason: "\(what): \(String(cString: sqlite3_errmsg(database)))")
    }

    private func execute(_ sql: String) throws {
        guard sqlite3_exec(database, sql, nil, nil, nil) == SQLITE_OK else {
            throw failure("cannot run '\(sql.prefix(40))'")
        }
    }

    private func userVersion() throws -> Int32 {
        try query("PRAGMA user_version", []) { sqlite3_column_int($0, 0) }.first ?? 0
    }

    /// The statement for `sql` (prepared once, reset for each use) with `values` bound.
    private func prepare(_ sql: String, _ values: [Value]) throws -> OpaquePointer {
        let statement: OpaquePointer
        if let cached = statements[sql] {
            sqlite3_reset(cached)
            sqlite3_clear_bindings(cached)
            statement = cached
        } else {
            var prepared: OpaquePointer?
            guard sqlite3_prepare_v2(database, sql, -1, &prepared, nil) == SQLITE_OK, let prepared else {
                throw failure("cannot prepare '\(sql.prefix(40))'")
            }
            statements[sql] = prepared
            statement = prepared
        }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .text(let text): sqlite3_bind_text(statement, position, text, -1, transient)
            case .integer(let number): sqlite3_bind_int64(statement, position, number)
            case .blob(let digest):
                let bytes = Self.bytes(digest)
                sqlite3_bind_blob(statement, position, bytes, Int32(bytes.count), transient)
            case .null: sqlite3_bind_null(statement, position)
            }
        }
        return statement
    }

    private func run(_ sql: String, _ values: [Value]) throws {
        let statement = try prepare(sql, values)
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw failure("cannot run '\(sql.prefix(40))'") }
    }

    private func query<T>(_ sql: String, _ texts: [String], _ row: (OpaquePointer) -> T) throws -> [T] {
        let statement = try prepare(sql, texts.map { .text($0) })
        defer { sqlite3_reset(statement) }
        var rows: [T] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return rows }
            guard step == SQLITE_ROW else { throw failure("cannot read '\(sql.prefix(40))'") }
            rows.append(row(statement))
        }
    }

    private static func bytes(_ digest: SHA256Digest) -> [UInt8] {
        [digest.words.0, digest.words.1, digest.words.2, digest.words.3].flatMap { word in
            (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * $0)) }
        }
    }

    private static func digest(_ statement: OpaquePointer, _ column: Int32) -> SHA256Digest? {
        guard sqlite3_column_type(statement, column) == SQLITE_BLOB, let blob = sqlite3_column_blob(statement, column),
            sqlite3_column_bytes(statement, column) == 32
        else { return nil }
        return SHA256Digest(UnsafeRawBufferPointer(start: blob, count: 32))
    }
}
