import CPProtocol
import FSWatcher
import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The watcher on real temporary trees through real inotify: the exact changes reported.
@Suite(.serialized) struct InotifyWatcherTests {
    @Test func createModifyDelete() async throws {
        let tree = try await WatchedTree()
        try tree.writeFile("a.txt", "one")
        try await tree.wait(.created, "a.txt")
        try tree.writeFile("a.txt", "two")
        try await tree.wait(.changed, "a.txt")
        unlink(tree.path("a.txt"))
        try await tree.wait(.deleted, "a.txt")
        try await tree.barrier()
        let reported = tree.reported
        #expect(reported.map(\.reason) == [.created, .changed, .deleted])
        #expect(reported[0].sha256 == sha256("one") && reported[0].size == 3 && reported[0].exists)
        #expect(reported[1].sha256 == sha256("two"))
        #expect(reported[2].sha256 == nil && !reported[2].exists && reported[2].size == nil)
        #expect(reported.allSatisfy { $0.root == tree.root })
        await tree.stop()
    }

    /// `mkdir -p a/b/c && touch a/b/c/f` at once: the file exists before any watch on `c`
    /// does, and is found by scanning the new directories.
    @Test func aFileInANewNestedDirectoryIsFound() async throws {
        let tree = try await WatchedTree()
        try FileManager.default.createDirectory(atPath: tree.path("a/b/c"), withIntermediateDirectories: true)
        try tree.writeFile("a/b/c/f", "x")
        try await tree.wait(.created, "a/b/c/f")
        try await tree.barrier()
        #expect(tree.reported.map(\.path) == ["a", "a/b", "a/b/c", "a/b/c/f"])
        #expect(tree.reported.map(\.isDir) == [true, true, true, false])
        await tree.stop()
    }

    /// A directory moved inside the tree is one `moved`; its watches follow it.
    @Test func aMovedDirectoryKeepsReportingTheRightPaths() async throws {
        let tree = try await WatchedTree()
        try tree.writeFile("d/sub/f.txt", "1")
        try await tree.wait(.created, "d/sub/f.txt")
        tree.clear()
        #expect(rename(tree.path("d"), tree.path("e")) == 0)
        try await tree.wait(.moved, "e")
        try tree.writeFile("e/sub/f.txt", "2")
        try await tree.wait(.changed, "e/sub/f.txt")
        try await tree.barrier()
        let reported = tree.reported
        #expect(reported.count == 2)
        #expect(
            reported.first
                == FileChange(
                    reason: .moved, root: tree.root, path: "e", from: "d", exists: true, isDir: true,
                    mtime: reported.first?.mtime, mode: reported.first?.mode))
        #expect(reported.last?.sha256 == sha256("2"))
        await tree.stop()
    }

    /// An editor's atomic save (write a temporary file, rename it over the target) is one
    /// `changed` of the target and nothing about the temporary file.
    @Test func anAtomicSaveIsOneChange() async throws {
        let tree = try await WatchedTree()
        try tree.writeFile("paper.tex", "draft")
        try await tree.wait(.created, "paper.tex")
        tree.clear()
        for version in 1...3 {
            try tree.writeFile("paper.tex.tmp\(version)", "version \(version)")
            #expect(rename(tree.path("paper.tex.tmp\(version)"), tree.path("paper.tex")) == 0)
        }
        try await tree.wait(.changed, "paper.tex")
        try await tree.barrier()
        #expect(tree.reported.map(\.path) == ["paper.tex"])
        #expect(tree.reported.first?.sha256 == sha256("version 3"))
        await tree.stop()
    }

    /// vim's backup dance: rename to `file~`, write a new file, delete the backup.
    @Test func vimsBackupDanceIsOneChange() async throws {
        let tree = try await WatchedTree()
        try tree.writeFile("notes.md", "old")
        try await tree.wait(.created, "notes.md")
        tree.clear()
        #expect(rename(tree.path("notes.md"), tree.path("notes.md~")) == 0)
        try tree.writeFile("notes.md", "new")
        unlink(tree.path("notes.md~"))
        try await tree.wait(.changed, "notes.md")
        try await tree.barrier()
        #expect(tree.reported.map(\.reason) == [.changed])
        await tree.stop()
    }

    /// `.cpignore` files (gitignore syntax) and the default ignores hide what they match.
    @Test func ignoredPathsAreNeverReported() async throws {
        let directory = try TemporaryDirectory()
        let tree = try await WatchedTree(directory)
        try tree.writeFile(".cpignore", "*.aux\nbuild/\n")
        try await tree.wait(.created, ".cpignore")
        try tree.writeFile("paper.aux", "x")
        try tree.writeFile("build/out.o", "x")
        try tree.writeFile(".git/index", "x")
        try tree.writeFile(".paper.tex.swp", "x")
        try tree.writeFile("sub/.cpignore", "*.log\n")
        try tree.writeFile("sub/run.log", "x")
        try tree.writeFile("run.log", "x")
        try tree.writeFile("paper.tex", "x")
        try await tree.wait(.created, "paper.tex")
        try await tree.barrier()
        #expect(Set(tree.reported.map(\.path)) == [".cpignore", "sub", "sub/.cpignore", "run.log", "paper.tex"])
        await tree.stop()
    }

    /// A log file appended to in steps streams `appended` events while it grows, never hashed.
    @Test func aLogFileIsStreamedWhileItGrows() async throws {
        var options = FileWatcher.Options()
        options.logGlobs = ["*.log"]
        options.settle = .milliseconds(50)
        let tree = try await WatchedTree(options: options)
        var size: UInt64 = 0
        var appendedWhileGrowing = 0
        for step in 1...20 {
            let line = "step \(step) of the build\n"
            try tree.writeFile("build.log", line, append: true)
            size += UInt64(line.utf8.count)
            if step % 5 == 0 && step < 20 {
                let reached = size
                try await tree.wait(for: "build.log at \(reached) bytes") { changes in
                    changes.contains { $0.path == "build.log" && ($0.range?.last ?? $0.size ?? 0) >= reached }
                }
                appendedWhileGrowing = tree.reported.filter { $0.reason == .appended }.count
            }
        }
        try await tree.wait(for: "build.log complete") { changes in
            changes.contains { $0.path == "build.log" && ($0.range?.last ?? $0.size ?? 0) == size }
        }
        let events = tree.reported.filter { $0.path == "build.log" }
        #expect(events.first?.reason == .created)
        #expect(events.dropFirst().allSatisfy { $0.reason == .appended })
        #expect(events.allSatisfy { $0.sha256 == nil })
        #expect(appendedWhileGrowing >= 2)
        // The ranges are contiguous: nothing skipped, nothing sent twice.
        var end = events.first?.size ?? 0
        for event in events.dropFirst() {
            #expect(event.range?.first == end)
            end = event.range?.last ?? end
        }
        #expect(end == size)
        await tree.stop()
    }

    /// A file written continuously for a second is reported once, after the writes stop.
    @Test func aFileWrittenForASecondIsReportedOnceAfterwards() async throws {
        let tree = try await WatchedTree()
        try tree.writeFile("data.bin", "start")
        try await tree.wait(.created, "data.bin")
        tree.clear()
        let handle = try #require(FileHandle(forWritingAtPath: tree.path("data.bin")))
        let clock = ContinuousClock()
        let end = clock.now + .seconds(1)
        var written = 0
        while clock.now < end {
            try handle.write(contentsOf: Data(repeating: 7, count: 4096))
            written += 4096
            try await Task.sleep(for: .milliseconds(5))
            #expect(tree.reported.isEmpty, "reported while still being written")
        }
        try handle.close()
        try await tree.wait(.changed, "data.bin")
        try await tree.barrier()
        #expect(tree.reported.count == 1)
        #expect(tree.reported.first?.size == UInt64(written))
        await tree.stop()
    }

    /// A watcher started on an existing tree reports nothing for it (the crawl is silent),
    /// then reports changes; with --state a restart reports only what changed meanwhile,
    /// as `rescanned`.
    @Test func theCrawlIsSilentAndTheStateFileRemembers() async throws {
        let directory = try TemporaryDirectory()
        let state = try TemporaryDirectory()
        for index in 0..<50 { _ = try directory.write("files/f\(index).txt", "content \(index)") }
        var options = FileWatcher.Options()
        options.statePath = state.file("watch.state")
        let first = try await WatchedTree(directory, options: options)
        #expect(first.watcher.summary.files == 50)
        try await first.barrier()
        #expect(first.reported.isEmpty)
        await first.stop()
        #expect(FileManager.default.fileExists(atPath: state.file("watch.state")))
        defer { withExtendedLifetime(state) {} }
        // While nobody watches: one file changed, one deleted, one added.
        _ = try directory.write("files/f1.txt", "changed")
        unlink(directory.file("files/f2.txt"))
        _ = try directory.write("files/new.txt", "new")
        let second = try await WatchedTree(directory, options: options)
        try await second.wait(for: "three rescanned") { $0.filter { $0.reason == .rescanned }.count == 3 }
        try await second.barrier()
        let byPath = Dictionary(uniqueKeysWithValues: second.reported.map { ($0.path, $0) })
        #expect(Set(byPath.keys) == ["files/f1.txt", "files/f2.txt", "files/new.txt"])
        #expect(byPath["files/f1.txt"]?.sha256 == sha256("changed"))
        #expect(byPath["files/f2.txt"]?.exists == false)
        #expect(byPath["files/new.txt"]?.exists == true)
        await second.stop()
    }

    /// A deleted root is watched again when it comes back.
    @Test func aDeletedRootIsWatchedAgainWhenItReturns() async throws {
        let parent = try TemporaryDirectory()
        let rootPath = parent.file("root")
        try FileManager.default.createDirectory(atPath: rootPath, withIntermediateDirectories: true)
        _ = try parent.write("root/a.txt", "a")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let complete = Atomic<Bool>(false)
        let watcher = try await FileWatcher.start(roots: [rootPath], options: .init(), logger: logger) { _ in
            complete.store(true, ordering: .releasing)
        }
        try await waitUntil(deadline: .seconds(20), "the initial model") { complete.load(ordering: .acquiring) }
        let recorded = Recorded()
        let reader = Task { for await change in watcher.changes { recorded.items.withLock { $0.append(change) } } }
        try FileManager.default.removeItem(atPath: rootPath)
        try await waitUntil(deadline: .seconds(20), "a.txt deleted") {
            recorded.items.withLock { $0.contains { $0.path == "a.txt" && $0.reason == .deleted } }
        }
        try FileManager.default.createDirectory(atPath: rootPath, withIntermediateDirectories: true)
        _ = try parent.write("root/b.txt", "b")
        try await waitUntil(deadline: .seconds(20), "b.txt created") {
            recorded.items.withLock { $0.contains { $0.path == "b.txt" && $0.reason == .created } }
        }
        _ = try parent.write("root/b.txt", "b2")
        try await waitUntil(deadline: .seconds(20), "b.txt changed") {
            recorded.items.withLock { $0.contains { $0.path == "b.txt" && $0.reason == .changed } }
        }
        await watcher.stop()
        await reader.value
    }

    @Test func aRootAddedWhileRunningIsWatchedWhenAddReturns() async throws {
        let tree = try await WatchedTree()
        try await tree.waitForModel()
        let other = try TemporaryDirectory()
        defer { other.remove() }
        _ = try other.write("deep/er/old.txt", "old")
        #expect(try await tree.watcher.add(root: other.path))
        // Every directory is watched now: a file made at once is a creation, not a crawl find.
        _ = try other.write("deep/er/new.txt", "new")
        try await tree.wait(for: "new.txt created and old.txt found") { changes in
            changes.contains { $0.root == other.path && $0.path == "deep/er/new.txt" && $0.reason == .created }
                && changes.contains { $0.root == other.path && $0.path == "deep/er/old.txt" && $0.reason == .rescanned }
        }
        #expect(!tree.changes.contains { $0.path == "deep/er/new.txt" && $0.reason == .rescanned })
        await tree.watcher.stop()
        #expect(try await tree.watcher.add(root: other.path) == false)  // stopped: not watched
    }

    @Test func aRootThatIsNotADirectoryIsRefused() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("plain.txt", "x")
        await #expect(throws: WatchError.badRoot(directory.file("missing"), reason: "no such directory")) {
            _ = try await FileWatcher.start(
                roots: [directory.file("missing")], options: .init(), logger: Logger(label: "t"))
        }
        await #expect(throws: WatchError.badRoot(file, reason: "not a directory")) {
            _ = try await FileWatcher.start(roots: [file], options: .init(), logger: Logger(label: "t"))
        }
        let inner = directory.file("inner")
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true)
        await #expect(throws: WatchError.badRoot(inner, reason: "inside '\(directory.path)', which is watched already"))
        {
            _ = try await FileWatcher.start(
                roots: [directory.path, inner], options: .init(), logger: Logger(label: "t"))
        }
    }
}
