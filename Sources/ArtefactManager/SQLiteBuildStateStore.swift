import CSQLite
import DependencyGraph
import Foundation
import Hashing

/// Task records and remembered file digests in one SQLite file (`.cp/state.db` for
/// `cp graph build`; the MajorDomo will use the same store): WAL mode, the schema's version in
/// `user_version`, each record one row written in one statement (a crash leaves the old record
/// or the new one, never half of one). Records are read in one query on first use and kept in
/// memory; statements are prepared once.
public final class SQLiteBuildStateStore: BuildStateStore, DigestCache {
    public static let schemaVersion: Int32 = 3

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
            let version = try userVersion()
            guard version <= Self.schemaVersion else {
                throw Failure(
                    path: path,
                    reason:
                        "its schema is version \(version); this cp reads up to version \(Self.schemaVersion) (delete the file to rebuild everything)"
                )
            }
            if version < 3 {
                // Version 3 keeps each record's files in one blob, in the task's order (a
                // 50,000-task project's records read in one scan instead of 450,000 rows).
                // Older records are dropped: each task runs once more (docs/decisions.md).
                try execute(
                    """
                    BEGIN;
                    DROP TABLE IF EXISTS task_files;
                    DROP TABLE IF EXISTS tasks;
                    CREATE TABLE tasks(name TEXT PRIMARY KEY, signature BLOB NOT NULL, files BLOB NOT NULL);
                    CREATE TABLE IF NOT EXISTS file_digests(
                        path TEXT PRIMARY KEY, size INTEGER, modified INTEGER, inode INTEGER, device INTEGER,
                        mode INTEGER, digest BLOB NOT NULL);
                    PRAGMA user_version=3;
                    COMMIT;
                    """)
                if version > 0 { try execute("VACUUM") }  // give back the old records' pages
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
        try preload()
        return records?[task]
    }

    /// Reads every record now (they are otherwise read on first use).
    public func preload() throws {
        if records == nil { records = try loadRecords() }
    }

    /// Every record, in one query.
    private func loadRecords() throws -> [String: TaskRecord] {
        var loaded = [String: TaskRecord](minimumCapacity: try count("tasks"))
        _ = try query("SELECT name, signature, files FROM tasks", []) { statement in
            let name = String(cString: sqlite3_column_text(statement, 0))
            let files = sqlite3_column_blob(statement, 2).map {
                UnsafeRawBufferPointer(start: $0, count: Int(sqlite3_column_bytes(statement, 2)))
            }
            guard let signature = Self.digest(statement, 1), let files, let (inputs, outputs) = Self.decode(files)
            else { return }  // a damaged record reads as none: the task runs again
            loaded[name] = TaskRecord(signature: signature, inputs: inputs, outputs: outputs)
        }
        return loaded
    }

    /// A record's files as stored: the input count, the output count (32 bits each), then each
    /// file's path (its length in 32 bits, then UTF-8) and digest (a byte 1 and 32 bytes, or a
    /// byte 0 for none), little-endian.
    static func encode(_ record: TaskRecord) -> [UInt8] {
        var bytes: [UInt8] = []
        func u32(_ value: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { bytes += $0 } }
        u32(record.inputs.count)
        u32(record.outputs.count)
        for file in record.inputs + record.outputs {
            u32(file.path.utf8.count)
            bytes += file.path.utf8
            if let digest = file.digest {
                bytes.append(1)
                bytes += Self.bytes(digest)
            } else {
                bytes.append(0)
            }
        }
        return bytes
    }

    /// The files of `encode`, or nil if `raw` does not read back whole.
    static func decode(_ raw: UnsafeRawBufferPointer) -> (inputs: [TaskRecord.File], outputs: [TaskRecord.File])? {
        var offset = 0
        func u32() -> Int? {
            guard offset + 4 <= raw.count else { return nil }
            defer { offset += 4 }
            return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        func file() -> TaskRecord.File? {
            guard let length = u32(), length < raw.count - offset else { return nil }
            let path = String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + length]), as: UTF8.self)
            offset += length
            let present = raw[offset]
            offset += 1
            guard present == 1 else { return present == 0 ? TaskRecord.File(path, nil) : nil }
            guard offset + 32 <= raw.count else { return nil }
            defer { offset += 32 }
            return TaskRecord.File(path, SHA256Digest(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 32])))
        }
        guard let inputCount = u32(), let outputCount = u32(), inputCount + outputCount <= raw.count else { return nil }
        var inputs: [TaskRecord.File] = []
        inputs.reserveCapacity(inputCount)
        for _ in 0..<inputCount {
            guard let input = file() else { return nil }
            inputs.append(input)
        }
        var outputs: [TaskRecord.File] = []
        for _ in 0..<outputCount {
            guard let output = file(), output.digest != nil else { return nil }
            outputs.append(output)
        }
        return offset == raw.count ? (inputs, outputs) : nil
    }

    public func loadDigests() throws -> [String: (identity: FileIdentity, digest: SHA256Digest)] {
        var loaded = [String: (identity: FileIdentity, digest: SHA256Digest)](
            minimumCapacity: try count("file_digests"))
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
                        .integer(Int64(identity.mode)), .blob(Self.bytes(entry.digest)),
                    ])
            }
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public func save(_ record: TaskRecord, of task: String) throws {
        try run(
            "INSERT OR REPLACE INTO tasks(name, signature, files) VALUES(?, ?, ?)",
            [.text(task), .blob(Self.bytes(record.signature)), .blob(Self.encode(record))])
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
        case blob([UInt8])
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

    /// The number of rows in `table` (to size what they are read into).
    private func count(_ table: String) throws -> Int {
        try query("SELECT count(*) FROM \(table)", []) { Int(sqlite3_column_int64($0, 0)) }.first ?? 0
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
            case .blob(let bytes):
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
