import CSQLite
import Foundation

/// One SQLite database file (the only owner of the SQLite C library in `cp`): opened in WAL
/// mode, statements prepared once and reused, typed values bound and read, every result code
/// checked in one place (`check`) with the database's message. Not thread-safe: use it from
/// one thread (or one actor) at a time.
public final class Database {
    /// The file's path.
    public let path: String
    /// How messages name it: `state '/p/.cp/state.db'`.
    public let name: String
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]

    /// The schema version the file had when it was opened (0 for a new file); with a schema,
    /// the file is at `schema.version` now.
    public private(set) var openedVersion: Int32 = 0

    /// Opens (creating if need be) the database at `path`, and its directory; `label` names
    /// it in messages (`state` → "state '/p/.cp/state.db': …"). With a `schema`, the file must
    /// be that schema's (or new) and is brought up to its version, in one transaction. A file that
    /// is not an SQLite database, or that is refused, is left exactly as it was.
    public init(path: String, label: String = "database", schema: Schema? = nil) throws {
        self.path = path
        self.name = "\(label) '\(path)'"
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let opened = sqlite3_open_v2(path, &handle, flags, nil)
        do {
            try check(opened, "cannot open it")
            sqlite3_extended_result_codes(handle, 1)
            sqlite3_busy_timeout(handle, 5000)
            // The first read of the file: one that is not a database fails here, unchanged.
            try check(sqlite3_exec(handle, "SELECT count(*) FROM sqlite_master", nil, nil, nil), "cannot read it")
            if let schema { openedVersion = try checkOwner(schema) }
            try execute("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
            if let schema { try upgrade(to: schema, from: openedVersion) }
        } catch {
            for statement in statements.values { sqlite3_finalize(statement) }
            statements = [:]
            sqlite3_close(handle)
            handle = nil
            throw error
        }
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close(handle)
    }

    /// Throws unless `code` is one of `success` (by default OK, ROW and DONE), with SQLite's
    /// message for the connection.
    @discardableResult
    func check(
        _ code: Int32, _ what: @autoclosure () -> String, success: Set<Int32> = [SQLITE_OK, SQLITE_ROW, SQLITE_DONE]
    )
        throws(SQLiteError) -> Int32
    {
        guard !success.contains(code & 0xFF) else { return code }
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
        throw SQLiteError(database: name, reason: "\(what()): \(message)", code: code)
    }

    /// `sql` shortened for messages.
    static func excerpt(_ sql: String) -> String {
        let line = sql.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
        return line.count > 60 ? String(line.prefix(57)) + "…" : line
    }

    /// Runs one or more statements that return no rows.
    public func execute(_ sql: String) throws(SQLiteError) {
        try check(sqlite3_exec(handle, sql, nil, nil, nil), "cannot run '\(Self.excerpt(sql))'")
    }

    /// Runs one statement (prepared once, kept for reuse) with `values` bound to its `?`s.
    public func run(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) {
        let statement = try prepare(sql, values)
        defer { sqlite3_reset(statement) }
        try check(sqlite3_step(statement), "cannot run '\(Self.excerpt(sql))'", success: [SQLITE_DONE, SQLITE_ROW])
    }

    /// Each row `sql` returns, read by `row`.
    public func query<T>(_ sql: String, _ values: [SQLValue] = [], _ row: (Row) -> T) throws(SQLiteError) -> [T] {
        let statement = try prepare(sql, values)
        defer { sqlite3_reset(statement) }
        var rows: [T] = []
        while try check(sqlite3_step(statement), "cannot read '\(Self.excerpt(sql))'") == SQLITE_ROW {
            rows.append(row(Row(statement: statement)))
        }
        return rows
    }

    /// The first column of the first row of `sql`, as an integer (0 when there is no row).
    public func integer(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> Int64 {
        try query(sql, values) { $0.int64(0) }.first ?? 0
    }

    /// Runs `body` in a transaction that takes the write lock at once: committed if it
    /// returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Rows changed by the last insert, update or delete.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The rowid of the last insert.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// The statement for `sql` (prepared once, reset for each use) with `values` bound.
    private func prepare(_ sql: String, _ values: [SQLValue]) throws(SQLiteError) -> OpaquePointer {
        let statement: OpaquePointer
        if let cached = statements[sql] {
            sqlite3_reset(cached)
            sqlite3_clear_bindings(cached)
            statement = cached
        } else {
            var prepared: OpaquePointer?
            try check(sqlite3_prepare_v2(handle, sql, -1, &prepared, nil), "cannot prepare '\(Self.excerpt(sql))'")
            guard let prepared else {
                throw SQLiteError(database: name, reason: "'\(Self.excerpt(sql))' holds no statement")
            }
            statements[sql] = prepared
            statement = prepared
        }
        for (index, value) in values.enumerated() {
            try check(
                value.bind(to: statement, at: Int32(index + 1)),
                "cannot bind value \(index + 1) of '\(Self.excerpt(sql))'")
        }
        return statement
    }
}
