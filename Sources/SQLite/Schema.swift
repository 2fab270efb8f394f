/// What a database file of one kind holds, and how to bring an older one up to date. The
/// version lives in `PRAGMA user_version`, the owner in `PRAGMA application_id`, so a file of
/// a newer `cp`, or of another program, is refused in one line instead of being misread.
public struct Schema: Sendable {
    /// What the file is, for messages: "cp graph's state".
    public let name: String
    /// Stamped into `application_id`: which program's file it is.
    public let applicationID: Int32
    /// The version this code reads and writes.
    public let version: Int32
    /// Versions written before files were stamped with an application id (their id is 0),
    /// which are taken as this schema's.
    public let unstampedVersions: ClosedRange<Int32>?
    /// What a user can do about a file of a newer version ("delete it to rebuild everything").
    public let remedy: String
    /// Brings a file at version `from` (0: a new, empty file) to `version`; runs in the same
    /// transaction that then records the new version.
    public let upgrade: @Sendable (Database, _ from: Int32) throws -> Void

    public init(
        name: String, applicationID: Int32, version: Int32, unstampedVersions: ClosedRange<Int32>? = nil,
        remedy: String, upgrade: @escaping @Sendable (Database, _ from: Int32) throws -> Void
    ) {
        self.name = name
        self.applicationID = applicationID
        self.version = version
        self.unstampedVersions = unstampedVersions
        self.remedy = remedy
        self.upgrade = upgrade
    }
}

extension Database {
    /// The schema version recorded in the file.
    public var userVersion: Int32 {
        get throws(SQLiteError) { Int32(truncatingIfNeeded: try integer("PRAGMA user_version")) }
    }

    /// The file's version, once it is known to be `schema`'s (or new). Refused, with nothing
    /// changed: a file of another program, a database holding tables of an unknown kind, a
    /// version newer than this code reads.
    func checkOwner(_ schema: Schema) throws(SQLiteError) -> Int32 {
        let owner = Int32(truncatingIfNeeded: try integer("PRAGMA application_id"))
        let version = try userVersion
        if owner != schema.applicationID {
            guard owner == 0 else {
                throw refusal("it belongs to another program (application id \(owner)), it is not \(schema.name)")
            }
            let unstamped = version != 0 && schema.unstampedVersions?.contains(version) == true
            let empty = try integer("SELECT count(*) FROM sqlite_master") == 0
            guard unstamped || (version == 0 && empty) else {
                throw refusal("it is an SQLite database of another program, not \(schema.name)")
            }
        }
        guard version <= schema.version else {
            throw refusal(
                "its schema is version \(version); this cp reads up to version \(schema.version) (\(schema.remedy))")
        }
        return version
    }

    /// Brings a file of `schema` at `version` to `schema.version` and stamps it, in one transaction.
    func upgrade(to schema: Schema, from version: Int32) throws {
        let stamped = try integer("PRAGMA application_id") == Int64(schema.applicationID)
        guard version < schema.version || !stamped else { return }
        try transaction {
            if version < schema.version { try schema.upgrade(self, version) }
            try execute("PRAGMA application_id=\(schema.applicationID); PRAGMA user_version=\(schema.version)")
        }
    }

    private func refusal(_ reason: String) -> SQLiteError { SQLiteError(database: name, reason: reason) }
}
