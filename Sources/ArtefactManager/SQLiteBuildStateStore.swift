import DependencyGraph
import Foundation
import Hashing
import SQLite

/// Task records and remembered file digests in one SQLite file (`.cp/state.db` for
/// `cp graph build`; the MajorDomo will use the same store): WAL mode, the schema's version in
/// `user_version`, each record one row written in one statement (a crash leaves the old record
/// or the new one, never half of one). Records are read in one query on first use and kept in
/// memory; statements are prepared once.
public final class SQLiteBuildStateStore: BuildStateStore, DigestCache {
    /// A state file's schema. Version 3 keeps each record's files in one blob, in the task's
    /// order (a 50,000-task project's records read in one scan instead of 450,000 rows); the
    /// records of versions 1 and 2 are dropped: each task runs once more (docs/decisions.md).
    public static let schema = Schema(
        name: "a cp build state", applicationID: 0x6370_5354,  // "cpST"
        version: 3, unstampedVersions: 1...3, remedy: "delete the file to rebuild everything"
    ) { database, from in
        guard from < 3 else { return }
        try database.execute(
            """
            DROP TABLE IF EXISTS task_files;
            DROP TABLE IF EXISTS tasks;
            CREATE TABLE tasks(name TEXT PRIMARY KEY, signature BLOB NOT NULL, files BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS file_digests(
                path TEXT PRIMARY KEY, size INTEGER, modified INTEGER, inode INTEGER, device INTEGER,
                mode INTEGER, digest BLOB NOT NULL);
            """)
    }

    /// Why a state file cannot be used: SQLite's message, or the file refused.
    public typealias Failure = SQLiteError

    public let path: String
    private let database: Database
    private var records: [String: TaskRecord]?
    /// Per discovered input: the tasks whose records hold it (made with `records`).
    private var discoveredBy: [String: Set<String>] = [:]

    /// Opens (creating if needed) the store at `path`, and its directory.
    public init(path: String) throws {
        self.path = path
        database = try Database(path: path, label: "state", schema: Self.schema)
        // Give back the pages of the records an upgrade dropped.
        if (1..<3).contains(database.openedVersion) { try database.execute("VACUUM") }
    }

    public func record(of task: String) throws -> TaskRecord? {
        try preload()
        return records?[task]
    }

    /// Reads every record now (they are otherwise read on first use).
    public func preload() throws {
        guard records == nil else { return }
        let loaded = try loadRecords()
        records = loaded
        for (task, record) in loaded { index(record, of: task) }
    }

    /// Notes (or with `adding` false, forgets) `record`'s discovered inputs as read by `task`.
    private func index(_ record: TaskRecord, of task: String, adding: Bool = true) {
        for file in record.discovered {
            if adding {
                discoveredBy[file.path, default: []].insert(task)
            } else if discoveredBy[file.path]?.remove(task) != nil, discoveredBy[file.path]?.isEmpty == true {
                discoveredBy[file.path] = nil
            }
        }
    }

    /// Every record, in one query.
    private func loadRecords() throws -> [String: TaskRecord] {
        var loaded = [String: TaskRecord](minimumCapacity: Int(try database.integer("SELECT count(*) FROM tasks")))
        _ = try database.query("SELECT name, signature, files FROM tasks") { row in
            guard let name = row.text(0), let signature = Self.digest(row, 1), let files = row.blob(2),
                let (inputs, outputs, discovered) = Self.decode(files)
            else { return }  // a damaged record reads as none: the task runs again
            loaded[name] = TaskRecord(signature: signature, inputs: inputs, outputs: outputs, discovered: discovered)
        }
        return loaded
    }

    /// A record's files as stored: the input count, the output count (32 bits each), then each
    /// file's path (its length in 32 bits, then UTF-8) and digest (a byte 1 and 32 bytes, or a
    /// byte 0 for none), little-endian; then, if it has any, the count of discovered inputs
    /// and those files (a record without any reads as schema 3 wrote it).
    static func encode(_ record: TaskRecord) -> [UInt8] {
        var bytes: [UInt8] = []
        func u32(_ value: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian) { bytes += $0 } }
        u32(record.inputs.count)
        u32(record.outputs.count)
        func write(_ file: TaskRecord.File) {
            u32(file.path.utf8.count)
            bytes += file.path.utf8
            if let digest = file.digest {
                bytes.append(1)
                bytes += Self.bytes(digest)
            } else {
                bytes.append(0)
            }
        }
        for file in record.inputs + record.outputs { write(file) }
        if !record.discovered.isEmpty {
            u32(record.discovered.count)
            for file in record.discovered { write(file) }
        }
        return bytes
    }

    /// The files of `encode`, or nil if `raw` does not read back whole.
    static func decode(_ raw: UnsafeRawBufferPointer) -> (
        inputs: [TaskRecord.File], outputs: [TaskRecord.File], discovered: [TaskRecord.File]
    )? {
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
        var discovered: [TaskRecord.File] = []
        if offset < raw.count {
            guard let count = u32(), count <= raw.count - offset else { return nil }
            for _ in 0..<count {
                guard let input = file() else { return nil }
                discovered.append(input)
            }
        }
        return offset == raw.count ? (inputs, outputs, discovered) : nil
    }

    public func loadDigests() throws -> [String: (identity: FileIdentity, digest: SHA256Digest)] {
        var loaded = [String: (identity: FileIdentity, digest: SHA256Digest)](
            minimumCapacity: Int(try database.integer("SELECT count(*) FROM file_digests")))
        _ = try database.query("SELECT path, size, modified, inode, device, mode, digest FROM file_digests") { row in
            guard let path = row.text(0), let digest = Self.digest(row, 6) else { return }
            let identity = FileIdentity(
                size: UInt64(bitPattern: row.int64(1)), modified: row.int64(2),
                inode: UInt64(bitPattern: row.int64(3)), device: UInt64(bitPattern: row.int64(4)),
                mode: UInt32(truncatingIfNeeded: row.int64(5)))
            loaded[path] = (identity, digest)
        }
        return loaded
    }

    public func saveDigests(_ changes: [String: (identity: FileIdentity, digest: SHA256Digest)?]) throws {
        try database.transaction {
            for (path, entry) in changes {
                guard let entry else {
                    try database.run("DELETE FROM file_digests WHERE path = ?", [.text(path)])
                    continue
                }
                let identity = entry.identity
                try database.run(
                    "INSERT OR REPLACE INTO file_digests(path, size, modified, inode, device, mode, digest) VALUES(?, ?, ?, ?, ?, ?, ?)",
                    [
                        .text(path), .integer(Int64(bitPattern: identity.size)), .integer(identity.modified),
                        .integer(Int64(bitPattern: identity.inode)), .integer(Int64(bitPattern: identity.device)),
                        .integer(Int64(identity.mode)), .blob(Self.bytes(entry.digest)),
                    ])
            }
        }
    }

    public func save(_ record: TaskRecord, of task: String) throws {
        try database.run(
            "INSERT OR REPLACE INTO tasks(name, signature, files) VALUES(?, ?, ?)",
            [.text(task), .blob(Self.bytes(record.signature)), .blob(Self.encode(record))])
        guard records != nil else { return }
        if let old = records?[task] { index(old, of: task, adding: false) }
        records?[task] = record
        index(record, of: task)
    }

    public func remove(task: String) throws {
        try database.run("DELETE FROM tasks WHERE name = ?", [.text(task)])
        if let old = records?.removeValue(forKey: task) { index(old, of: task, adding: false) }
    }

    /// From an index kept with the records (read on first use): each changed file is a look-up.
    public func tasks(discovering paths: Set<String>) throws -> [String] {
        try preload()
        return Set(paths.flatMap { discoveredBy[$0] ?? [] }).sorted()
    }

    private static func bytes(_ digest: SHA256Digest) -> [UInt8] {
        [digest.words.0, digest.words.1, digest.words.2, digest.words.3].flatMap { word in
            (0..<8).map { UInt8(truncatingIfNeeded: word >> (56 - 8 * $0)) }
        }
    }

    private static func digest(_ row: Row, _ column: Int32) -> SHA256Digest? {
        guard let blob = row.blob(column), blob.count == 32 else { return nil }
        return SHA256Digest(blob)
    }
}
