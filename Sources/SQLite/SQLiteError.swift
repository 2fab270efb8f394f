import CSQLite

/// What went wrong with a database: which one, what was tried, and SQLite's own message
/// ("UNIQUE constraint failed: tasks.name", "file is not a database"). Every SQLite call's
/// result goes through `Database.check`, so no failure loses that message.
public struct SQLiteError: Error, Equatable, CustomStringConvertible {
    /// The database as messages name it: `state '/p/.cp/state.db'`.
    public let database: String
    /// What was tried and why it failed, in one line.
    public let reason: String
    /// SQLite's extended result code; nil when SQLite did not fail but the file was refused
    /// (a newer schema, another program's database).
    public let code: Int32?

    public init(database: String, reason: String, code: Int32? = nil) {
        self.database = database
        self.reason = reason
        self.code = code
    }

    public var description: String { "\(database): \(reason)" }

    /// Whether SQLite refused a write because of a constraint (unique, not null, check…).
    public var isConstraint: Bool { code.map { $0 & 0xFF == SQLITE_CONSTRAINT } ?? false }
}
