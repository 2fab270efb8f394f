import Foundation
import Hashing
import TestSupport
import Testing

@testable import FSWatcher

#if canImport(Glibc)
    import Glibc
#endif

/// The engine's coalescing and model rules, driven by a scripted event source over a real
/// directory: the test says exactly which events the kernel would have sent.
@Suite struct CoalescingTests {
    /// A watched tree whose events are scripted, with a few shorthands.
    struct Scripted {
        let source = ScriptedSource()
        let tree: WatchedTree

        init(files: [String: String] = [:]) async throws {
            let directory = try TemporaryDirectory()
            for (path, text) in files { _ = try directory.write(path, text) }
            var options = FileWatcher.Options()
            options.settle = .milliseconds(30)
            tree = try await WatchedTree(directory, options: options, source: source)
        }

        var root: Int32 { source.descriptor(tree.root) }

        func send(_ mask: UInt32, _ name: String, cookie: UInt32 = 0) {
            source.send([RawEvent(watch: root, mask: mask, cookie: cookie, name: name)])
        }

        /// A file written and closed, as the kernel reports it.
        func write(_ name: String, _ text: String) throws {
            let existed = FileManager.default.fileExists(atPath: tree.path(name))
            try tree.writeFile(name, text)
            if !existed { send(EventMask.create, name) }
            send(EventMask.modify, name)
            send(EventMask.closeWrite, name)
        }

        /// A scripted barrier: everything scripted before it has been reported once it is.
        func barrier() async throws {
            let name = "zz-barrier-\(UUID().uuidString)"
            try write(name, "")
            try await tree.wait(.created, name)
        }
    }

    @Test func createThenDeleteWithinTheSettleTimeIsNothing() async throws {
        let scripted = try await Scripted()
        try scripted.write("short-lived.txt", "x")
        unlink(scripted.tree.path("short-lived.txt"))
        scripted.send(EventMask.delete, "short-lived.txt")
        try await scripted.barrier()
        #expect(scripted.tree.reported.isEmpty)
        await scripted.tree.stop()
    }

    @Test func deleteThenCreateIsAChange() async throws {
        let scripted = try await Scripted(files: ["f.txt": "old"])
        try await scripted.tree.waitForModel()
        unlink(scripted.tree.path("f.txt"))
        scripted.send(EventMask.delete, "f.txt")
        try scripted.write("f.txt", "new")
        try await scripted.barrier()
        #expect(scripted.tree.reported.map(\.reason) == [.changed])
        #expect(scripted.tree.reported.first?.sha256 == sha256("new"))
        await scripted.tree.stop()
    }

    @Test func modifyThenModifyIsOneChange() async throws {
        let scripted = try await Scripted(files: ["f.txt": "0"])
        try await scripted.tree.waitForModel()
        try scripted.write("f.txt", "1")
        try scripted.write("f.txt", "22")
        try await scripted.barrier()
        #expect(scripted.tree.reported.map(\.reason) == [.changed])
        #expect(scripted.tree.reported.first?.size == 2)
        await scripted.tree.stop()
    }

    /// A touch, or a rewrite with the same bytes, changes nothing that matters.
    @Test func sameContentIsNotAChange() async throws {
        let scripted = try await Scripted(files: ["f.txt": "same"])
        try await scripted.tree.waitForModel()
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, scripted.tree.path("f.txt"), &times, 0) == 0)
        scripted.send(EventMask.attributes, "f.txt")
        try scripted.write("f.txt", "same")
        try await scripted.barrier()
        #expect(scripted.tree.reported.isEmpty)
        await scripted.tree.stop()
    }

    /// After an overflow the tree is compared with the model again: only what really differs
    /// is reported, as `rescanned`.
    @Test func anOverflowRescansAndReportsOnlyTheDifferences() async throws {
        var files: [String: String] = [:]
        for index in 0..<10 { files["d/f\(index).txt"] = "content \(index)" }
        let scripted = try await Scripted(files: files)
        try await scripted.tree.waitForModel()
        // Changes the watcher never hears of.
        try scripted.tree.writeFile("d/f1.txt", "changed")
        try scripted.tree.writeFile("d/f2.txt", "other length")
        unlink(scripted.tree.path("d/f3.txt"))
        try scripted.tree.writeFile("d/new.txt", "new")
        var times = [timespec(tv_sec: 1_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, scripted.tree.path("d/f4.txt"), &times, 0) == 0)  // touched only
        scripted.source.send([RawEvent(watch: -1, mask: EventMask.overflow)])
        try await scripted.tree.wait(for: "four rescanned") { $0.count >= 4 }
        try await scripted.barrier()
        let byPath = Dictionary(uniqueKeysWithValues: scripted.tree.reported.map { ($0.path, $0) })
        #expect(Set(byPath.keys) == ["d/f1.txt", "d/f2.txt", "d/f3.txt", "d/new.txt"])
        #expect(byPath.values.allSatisfy { $0.reason == .rescanned })
        #expect(byPath["d/f1.txt"]?.sha256 == sha256("changed"))
        #expect(byPath["d/f3.txt"]?.exists == false)
        #expect(byPath["d/new.txt"]?.exists == true)
        await scripted.tree.stop()
    }

    /// A move's first half with no second half left the tree; a second half with no first
    /// half arrived (and a directory that arrives is scanned).
    @Test func movesOutAndInOfTheTree() async throws {
        let outside = try TemporaryDirectory()
        let scripted = try await Scripted(files: ["leaving.txt": "bye"])
        try await scripted.tree.waitForModel()
        #expect(rename(scripted.tree.path("leaving.txt"), outside.file("leaving.txt")) == 0)
        scripted.send(EventMask.movedFrom, "leaving.txt", cookie: 7)
        _ = try outside.write("arriving/inner.txt", "hello")
        #expect(rename(outside.file("arriving"), scripted.tree.path("arriving")) == 0)
        scripted.send(EventMask.movedTo | EventMask.isDirectory, "arriving", cookie: 8)
        try await scripted.tree.wait(.created, "arriving/inner.txt")
        try await scripted.barrier()
        let summary = scripted.tree.reported.map { "\($0.reason) \($0.path)" }
        #expect(summary.sorted() == ["created arriving", "created arriving/inner.txt", "deleted leaving.txt"])
        await scripted.tree.stop()
    }

    /// A file moved inside the tree is one `moved`, carrying what was known of it.
    @Test func aFileMovedInsideTheTreeIsOneMove() async throws {
        let scripted = try await Scripted(files: ["a.txt": "content"])
        try await scripted.tree.waitForModel()
        #expect(rename(scripted.tree.path("a.txt"), scripted.tree.path("b.txt")) == 0)
        scripted.source.send([
            RawEvent(watch: scripted.root, mask: EventMask.movedFrom, cookie: 9, name: "a.txt"),
            RawEvent(watch: scripted.root, mask: EventMask.movedTo, cookie: 9, name: "b.txt"),
        ])
        try await scripted.barrier()
        #expect(scripted.tree.reported.map { "\($0.reason) \($0.from ?? "") \($0.path)" } == ["moved a.txt b.txt"])
        #expect(scripted.tree.reported.first?.sha256 == sha256("content"))
        await scripted.tree.stop()
    }
}

extension CoalescingTests {
    /// Stopping reports what is still settling: nothing seen is lost.
    @Test func stoppingReportsWhatIsStillSettling() async throws {
        let source = ScriptedSource()
        let directory = try TemporaryDirectory()
        var options = FileWatcher.Options()
        options.settle = .seconds(3600)
        let tree = try await WatchedTree(directory, options: options, source: source)
        try await tree.waitForModel()
        try tree.writeFile("late.txt", "late")
        source.send([
            RawEvent(watch: source.descriptor(tree.root), mask: EventMask.create, name: "late.txt"),
            RawEvent(watch: source.descriptor(tree.root), mask: EventMask.closeWrite, name: "late.txt"),
        ])
        await tree.stop()
        #expect(tree.reported.map { "\($0.reason) \($0.path)" } == ["created late.txt"])
    }
}

/// The model's table: entries in a dense array, indices in the dictionary, freed slots reused.
@Suite struct ModelTableTests {
    func entry(size: UInt64) -> Entry {
        Entry(
            isDirectory: false, identity: FileIdentity(size: size, modified: 1, inode: size, device: 1, mode: 0o100644),
            digest: nil)
    }

    @Test func insertsReadsReplacesAndRemoves() {
        var table = ModelTable()
        #expect(table.isEmpty)
        table["a"] = entry(size: 1)
        table["b/c"] = entry(size: 2)
        #expect(table.count == 2 && table["a"] == entry(size: 1) && table["b/c"] == entry(size: 2))
        table["a"]?.identity.size = 10
        #expect(table["a"]?.identity.size == 10)
        #expect(table.removeValue(forKey: "a")?.identity.size == 10)
        #expect(table["a"] == nil && table.count == 1)
        #expect(table.removeValue(forKey: "a") == nil)
        table["d"] = entry(size: 4)  // takes the slot "a" left
        #expect(table["d"] == entry(size: 4) && table["b/c"] == entry(size: 2))
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value.identity.size) }) == ["b/c": 2, "d": 4])
        #expect(Set(table.keys) == ["b/c", "d"] && table.values.count == 2)
    }

    @Test func buildsFromADictionary() {
        let dictionary = ["x": entry(size: 1), "y/z": entry(size: 2)]
        let table = ModelTable(dictionary)
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }) == dictionary)
    }
}
