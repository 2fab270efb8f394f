import ArtefactManager
import DependencyGraph
import Foundation
import Hashing
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite store against a real file.
@Suite struct SQLiteStoreTests {
    func digest(_ text: String) throws -> SHA256Digest {
        try SHA256Hasher.digest(of: Array(text.utf8))
    }

    @Test func recordsSurviveReopeningAndReplaceWhole() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file(".cp/state.db")
        let record = TaskRecord(
            signature: try digest("sig"), inputs: [.init("a.tex", try digest("a")), .init("a.aux", nil)],
            outputs: [.init("a.pdf", try digest("pdf")), .init("a.aux", try digest("aux"))])
        do {
            let store = try SQLiteBuildStateStore(path: path)
            #expect(try store.record(of: "paper") == nil)
            try store.save(record, of: "paper")
        }
        let reopened = try SQLiteBuildStateStore(path: path)
        #expect(try reopened.record(of: "paper") == record)
        let newer = TaskRecord(
            signature: try digest("sig2"), inputs: [.init("b", try digest("b"))], outputs: [.init("c", try digest("c"))]
        )
        try reopened.save(newer, of: "paper")
        #expect(try reopened.record(of: "paper") == newer)  // nothing of the old record left
        try reopened.remove(task: "paper")
        #expect(try reopened.record(of: "paper") == nil)
        // WAL mode: the write-ahead log sits beside the file while the store is open.
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
    }

    /// Runs `sql` on the SQLite file at `path` behind the store's back, with the sqlite3 shell
    /// (only ArtefactManager imports the C library).
    func execute(_ sql: String, on path: String) async throws {
        let result = try await runProcess("sqlite3", [path, sql])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func aDamagedRecordReadsAsNoneAndTheOthersStay() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        let record = TaskRecord(
            signature: try digest("sig"), inputs: [.init("in", try digest("in"))], outputs: [.init("out", nil)])
        var whole = record
        whole.outputs = [.init("out", try digest("out"))]
        do {
            let store = try SQLiteBuildStateStore(path: path)
            try store.save(whole, of: "good")
            try store.save(whole, of: "cut")
            try store.save(record, of: "no-output-digest")
        }
        try await execute("UPDATE tasks SET files = substr(files, 1, 20) WHERE name = 'cut'", on: path)
        let reopened = try SQLiteBuildStateStore(path: path)
        #expect(try reopened.record(of: "good") == whole)
        #expect(try reopened.record(of: "cut") == nil)  // runs again, as if never built
        #expect(try reopened.record(of: "no-output-digest") == nil)  // an output is always hashed
    }

    @Test func anOlderSchemaIsUpgradedKeepingTheRememberedDigests() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        try await execute(
            """
            CREATE TABLE tasks(name TEXT PRIMARY KEY, signature BLOB NOT NULL);
            CREATE TABLE task_files(task TEXT NOT NULL, role INTEGER NOT NULL, path TEXT NOT NULL, digest BLOB,
                PRIMARY KEY(task, role, path));
            CREATE TABLE file_digests(path TEXT PRIMARY KEY, size INTEGER, modified INTEGER, inode INTEGER,
                device INTEGER, mode INTEGER, digest BLOB NOT NULL);
            INSERT INTO tasks VALUES('old', zeroblob(32));
            INSERT INTO task_files VALUES('old', 0, 'a', zeroblob(32));
            INSERT INTO file_digests VALUES('a', 1, 2, 3, 4, 33188, zeroblob(32));
            PRAGMA user_version=2;
            """, on: path)
        let store = try SQLiteBuildStateStore(path: path)
        #expect(try store.record(of: "old") == nil)  // version 2 records are dropped: it runs once more
        #expect(try store.loadDigests()["a"]?.identity.inode == 3)
        try store.save(
            TaskRecord(signature: try digest("s"), inputs: [], outputs: [.init("o", try digest("o"))]), of: "new")
        #expect(try SQLiteBuildStateStore(path: path).record(of: "new") != nil)
    }

    @Test func aFileThatIsNotADatabaseIsAClearError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write("state.db", String(repeating: "not a database\n", count: 100))
        let error = try #require(throws: SQLiteBuildStateStore.Failure.self) { try SQLiteBuildStateStore(path: path) }
        #expect("\(error)".contains("state '\(path)'") && "\(error)".contains("not a database"))
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("not a database"))  // left as it was
    }
}

@Suite struct DigestCacheTests {
    /// Sets `path`'s modification time to `seconds` since the epoch.
    func setTime(_ path: String, _ seconds: Int) {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    @Test func digestsAreRememberedAcrossProcessesAndGatedByIdentity() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("project/a.txt", "first")
        let old = Int(Date().timeIntervalSince1970) - 3600
        setTime(file, old)
        let state = directory.file("project/.cp/state.db")
        let expected = try SHA256Hasher.digest(of: Array("first".utf8))
        do {
            let store = try SQLiteBuildStateStore(path: state)
            let files = DiskFileStates(root: directory.file("project"), cache: store)
            #expect(files.digest("a.txt") == expected)
            try files.save()
        }
        // Same size and time, other bytes: a new process trusts the remembered digest (the
        // identity gates hashing, as documented)...
        try "other".write(toFile: file, atomically: false, encoding: .utf8)
        setTime(file, old)
        let store = try SQLiteBuildStateStore(path: state)
        #expect(DiskFileStates(root: directory.file("project"), cache: store).digest("a.txt") == expected)
        // ...and any move of the time makes it hash again.
        setTime(file, old + 1)
        let fresh = try SHA256Hasher.digest(of: Array("other".utf8))
        #expect(DiskFileStates(root: directory.file("project"), cache: store).digest("a.txt") == fresh)
    }

    @Test func lookingAtManyFilesAtOnceFindsWhatLookingOneByOneFinds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let old = Int(Date().timeIntervalSince1970) - 3600
        var paths: [String] = []
        for index in 0..<2_000 {
            let path = "d\(index % 7)/f\(index).txt"
            if index % 5 != 0 { setTime(try directory.write("project/" + path, "content \(index % 300)"), old) }
            paths.append(path)  // every fifth is missing
        }
        _ = try directory.write("project/dir/inner.txt", "a directory is no file")
        paths.append("dir")
        let store = try SQLiteBuildStateStore(path: directory.file("state.db"))
        let files = DiskFileStates(root: directory.file("project"), cache: store)
        let together = files.digests(paths)
        let single = DiskFileStates(root: directory.file("project"))
        #expect(together == paths.map { single.digest($0) })
        #expect(together.filter { $0 == nil }.count == 401)
        try files.save()
        #expect(try store.loadDigests().count == 1_600)  // what was hashed is remembered
        #expect(try SHA256Hasher.digest(of: Array("content 1".utf8)) == together[1])
    }

    @Test func aFileWrittenJustNowIsNotRemembered() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try directory.write("project/new.txt", "racy")
        let store = try SQLiteBuildStateStore(path: directory.file("project/.cp/state.db"))
        let files = DiskFileStates(root: directory.file("project"), cache: store)
        #expect(files.digest("new.txt") != nil)
        try files.save()
        #expect(try store.loadDigests()["new.txt"] == nil)  // within two seconds of its write
    }
}
