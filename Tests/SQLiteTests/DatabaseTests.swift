import Foundation
import SQLite
import TestSupport
import Testing

/// The SQLite owner against real files: the error funnel, typed values, transactions and
/// schema migrations.
@Suite struct DatabaseTests {
    static let schema = Schema(
        name: "a test store", applicationID: 0x7465_7374, version: 2, remedy: "delete it"
    ) { database, from in
        if from < 1 { try database.execute("CREATE TABLE items(name TEXT PRIMARY KEY, size INTEGER NOT NULL)") }
        if from < 2 { try database.execute("ALTER TABLE items ADD COLUMN note TEXT") }
    }

    @Test func aConstraintErrorCarriesSQLitesMessage() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.file("store.db"), label: "store", schema: Self.schema)
        try database.run("INSERT INTO items(name, size) VALUES(?, ?)", [.text("a"), .integer(1)])
        let error = try #require(throws: SQLiteError.self) {
            try database.run("INSERT INTO items(name, size) VALUES(?, ?)", [.text("a"), .integer(2)])
        }
        #expect(error.isConstraint)
        #expect("\(error)".hasPrefix("store '\(directory.file("store.db"))': cannot run 'INSERT INTO items"))
        #expect("\(error)".hasSuffix(": UNIQUE constraint failed: items.name"))
        let null = try #require(throws: SQLiteError.self) {
            try database.run("INSERT INTO items(name, size) VALUES(?, ?)", [.text("b"), .null])
        }
        #expect("\(null)".hasSuffix("NOT NULL constraint failed: items.size"))
    }

    @Test func valuesComeBackAsTheyWereBound() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.file("values.db"))
        try database.execute("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        let bytes: [UInt8] = [0, 1, 2, 255]
        try database.run(
            "INSERT INTO t VALUES(?, ?, ?, ?, ?)",
            [.integer(Int64.min), .real(2.5), .text("ünïcödé 'quoted'"), .blob(bytes), .null])
        let rows = try database.query("SELECT i, r, s, b, n FROM t") { row in
            (row.int64(0), row.double(1), row.text(2), row.blob(3).map { Array($0) }, row.isNull(4), row.text(4))
        }
        #expect(rows.count == 1)
        #expect(rows[0].0 == Int64.min && rows[0].1 == 2.5 && rows[0].2 == "ünïcödé 'quoted'")
        #expect(rows[0].3 == bytes && rows[0].4 && rows[0].5 == nil)
        #expect(database.changes == 1 && database.lastInsertRowID == 1)
    }

    @Test func aTransactionThatThrowsLeavesNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try Database(path: directory.file("tx.db"))
        try database.execute("CREATE TABLE t(x INTEGER UNIQUE)")
        #expect(throws: SQLiteError.self) {
            try database.transaction {
                try database.run("INSERT INTO t VALUES(1)")
                try database.run("INSERT INTO t VALUES(1)")  // fails: the first goes too
            }
        }
        #expect(try database.integer("SELECT count(*) FROM t") == 0)
        try database.transaction { try database.run("INSERT INTO t VALUES(2)") }
        #expect(try database.integer("SELECT count(*) FROM t") == 1)
    }

    @Test func aNewFileIsMigratedOnceAndStamped() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("m.db")
        #expect(try Database(path: path, schema: Self.schema).openedVersion == 0)
        let again = try Database(path: path, schema: Self.schema)
        #expect(again.openedVersion == 2)  // already there: nothing runs
        #expect(try again.userVersion == 2)
        #expect(try again.integer("PRAGMA application_id") == 0x7465_7374)
        try again.run("INSERT INTO items(name, size, note) VALUES('x', 1, 'version 2 has notes')")
    }

    @Test func anOlderVersionIsUpgradedStepByStep() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("old.db")
        let version1 = Schema(name: "a test store", applicationID: 0x7465_7374, version: 1, remedy: "") { database, _ in
            try database.execute("CREATE TABLE items(name TEXT PRIMARY KEY, size INTEGER NOT NULL)")
        }
        do {
            let database = try Database(path: path, schema: version1)
            try database.run("INSERT INTO items(name, size) VALUES('kept', 7)")
        }
        let database = try Database(path: path, schema: Self.schema)
        #expect(database.openedVersion == 1)
        #expect(
            try database.query("SELECT name, size, note FROM items") { "\($0.text(0)!) \($0.int64(1)) \($0.isNull(2))" }
                == ["kept 7 true"])
    }

    @Test func aForeignOrNewerFileIsRefusedInOneLineAndLeftAsItWas() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Another program's database: tables, no stamp.
        let foreign = directory.file("foreign.db")
        try await sqlite(foreign, "CREATE TABLE accounts(id INTEGER); INSERT INTO accounts VALUES(42);")
        let error = try #require(throws: SQLiteError.self) { try Database(path: foreign, schema: Self.schema) }
        #expect("\(error)" == "database '\(foreign)': it is an SQLite database of another program, not a test store")
        #expect(try await sqlite(foreign, "SELECT id FROM accounts; PRAGMA journal_mode;") == "42\ndelete\n")
        // Another program's stamp.
        let stamped = directory.file("stamped.db")
        try await sqlite(stamped, "PRAGMA application_id=1234; CREATE TABLE t(x);")
        let other = try #require(throws: SQLiteError.self) { try Database(path: stamped, schema: Self.schema) }
        #expect("\(other)".hasSuffix("it belongs to another program (application id 1234), it is not a test store"))
        // Ours, from a newer cp.
        let newer = directory.file("newer.db")
        try await sqlite(newer, "PRAGMA application_id=\(0x7465_7374); PRAGMA user_version=9; CREATE TABLE later(y);")
        let later = try #require(throws: SQLiteError.self) { try Database(path: newer, schema: Self.schema) }
        #expect("\(later)".hasSuffix("its schema is version 9; this cp reads up to version 2 (delete it)"))
        #expect(try await sqlite(newer, "PRAGMA user_version; SELECT name FROM sqlite_master;") == "9\nlater\n")
        #expect(!"\(later)".contains("\n"))
    }

    @Test func aFileThatIsNotADatabaseIsRefusedUntouched() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("text.db", String(repeating: "plain text\n", count: 200))
        let error = try #require(throws: SQLiteError.self) {
            try Database(path: path, label: "state", schema: Self.schema)
        }
        #expect("\(error)" == "state '\(path)': cannot read it: file is not a database")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == String(repeating: "plain text\n", count: 200))
    }

    /// Runs `sql` with the sqlite3 shell, behind the module's back, and returns what it printed.
    @discardableResult
    func sqlite(_ path: String, _ sql: String) async throws -> String {
        let result = try await runProcess("sqlite3", [path, sql])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }
}
