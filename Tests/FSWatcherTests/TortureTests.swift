import CPProtocol
import FSWatcher
import Foundation
import Hashing
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// 5,000 seeded random operations at full speed on a real tree; once the watcher settles, the
/// state a subscriber rebuilds from the changes equals a fresh scan: nothing lost, nothing stale.
@Suite(.serialized) struct TortureTests {
    struct FileFacts: Equatable, CustomStringConvertible {
        var isDir: Bool
        var size: UInt64?
        var sha256: String?
        var description: String { isDir ? "dir" : "\(size ?? 0) bytes \(sha256?.prefix(8) ?? "nil")" }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func aSubscriberEndsWithTheTreeAsItIs(seed: UInt64) async throws {
        let tree = try await WatchedTree()
        var world = RandomTree(root: tree.root, seed: seed)
        for _ in 0..<5_000 { world.step() }
        let operations = world.performed
        // Settled: the rebuilt state matches a scan (checked every half second: a scan hashes
        // every file), or the deadline passed and the difference is shown.
        let actual = Self.scan(tree.root)
        let end = ContinuousClock.now + .seconds(60)
        while Self.rebuild(tree.changes) != actual && ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(500))
        }
        let rebuilt = Self.rebuild(tree.changes)
        let wrong = Set(rebuilt.keys).union(actual.keys).filter { rebuilt[$0] != actual[$0] }.sorted()
        let differences = wrong.prefix(10).map { path in
            "\(path): reported \(rebuilt[path].map(String.init(describing:)) ?? "nothing"), "
                + "on disk \(actual[path].map(String.init(describing:)) ?? "nothing")"
        }
        #expect(wrong.isEmpty, "\(wrong.count) paths differ: \(differences.joined(separator: "; "))")
        #expect(operations.count == 10)  // every kind of operation happened
        #expect(actual.values.contains { !$0.isDir })
        await tree.stop()
    }

    /// What a subscriber knows after applying `changes` in order.
    static func rebuild(_ changes: [FileChange]) -> [String: FileFacts] {
        var state: [String: FileFacts] = [:]
        func removeSubtree(_ path: String) {
            for key in state.keys where key == path || key.hasPrefix(path + "/") { state[key] = nil }
        }
        for change in changes {
            let facts = FileFacts(isDir: change.isDir, size: change.size, sha256: change.sha256)
            switch change.reason {
            case .created, .changed, .appended:
                state[change.path] = facts
            case .deleted:
                removeSubtree(change.path)
            case .rescanned:
                if change.exists { state[change.path] = facts } else { removeSubtree(change.path) }
            case .moved:
                guard let from = change.from else { continue }
                if change.isDir {
                    removeSubtree(change.path)
                    for key in state.keys where key == from || key.hasPrefix(from + "/") {
                        state[change.path + key.dropFirst(from.count)] = state.removeValue(forKey: key)
                    }
                } else {
                    state[from] = nil
                    state[change.path] = facts
                }
            }
        }
        state[""] = nil
        return state
    }

    /// The tree as it is: every directory and file below `root` with sizes and hashes.
    static func scan(_ root: String) -> [String: FileFacts] {
        var state: [String: FileFacts] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return state }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = root + "/" + relative
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                state[relative] = FileFacts(isDir: true, size: nil, sha256: nil)
            } else if let hash = try? SHA256Hasher.hex(ofFileAt: path),
                let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let size = attributes[.size] as? NSNumber
            {
                state[relative] = FileFacts(isDir: false, size: size.uint64Value, sha256: hash)
            }
        }
        return state
    }
}

/// A tree changed by a seeded random sequence of operations: create, write, append,
/// truncate, rename a file, rename a directory, delete, mkdir, rmdir and atomic save.
struct RandomTree {
    let root: String
    var random: SeededRandom
    var files: [String] = []
    var directories: [String] = [""]
    var counter = 0
    private(set) var performed: Set<String> = []

    init(root: String, seed: UInt64) {
        self.root = root
        random = SeededRandom(seed: seed)
    }

    mutating func step() {
        let choice = random.next(below: 100)
        switch choice {
        case 0..<20: create()
        case 20..<35: write(append: false)
        case 35..<45: write(append: true)
        case 45..<50: truncateFile()
        case 50..<60: renameFile()
        case 60..<64: renameDirectory()
        case 64..<74: deleteFile()
        case 74..<84: makeDirectory()
        case 84..<88: removeDirectory()
        default: atomicSave()
        }
    }

    private func absolute(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }

    private mutating func freshName(_ prefix: String) -> String {
        counter += 1
        return "\(prefix)\(counter)"
    }

    private mutating func pick(_ items: [String]) -> String? {
        items.isEmpty ? nil : items[random.next(below: items.count)]
    }

    private mutating func content() -> [UInt8] {
        (0..<random.next(below: 2_000)).map { _ in UInt8(truncatingIfNeeded: random.next(below: 256)) }
    }

    private mutating func put(_ path: String, _ bytes: [UInt8], flags: Int32) {
        let fd = open(absolute(path), O_WRONLY | O_CREAT | flags | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    private mutating func create() {
        guard let directory = pick(directories) else { return }
        let path = directory.isEmpty ? freshName("f") : directory + "/" + freshName("f")
        put(path, content(), flags: O_TRUNC)
        files.append(path)
        performed.insert("create")
    }

    private mutating func write(append: Bool) {
        guard let path = pick(files) else { return create() }
        put(path, content(), flags: append ? O_APPEND : O_TRUNC)
        performed.insert(append ? "append" : "write")
    }

    private mutating func truncateFile() {
        guard let path = pick(files) else { return }
        _ = truncate(absolute(path), off_t(random.next(below: 100)))
        performed.insert("truncate")
    }

    private mutating func renameFile() {
        guard let path = pick(files), let directory = pick(directories) else { return }
        let target = directory.isEmpty ? freshName("r") : directory + "/" + freshName("r")
        guard rename(absolute(path), absolute(target)) == 0 else { return }
        files.removeAll { $0 == path }
        files.append(target)
        performed.insert("rename file")
    }

    private mutating func renameDirectory() {
        guard let path = pick(directories.filter { !$0.isEmpty }), let parent = pick(directories) else { return }
        guard parent != path, !parent.hasPrefix(path + "/") else { return }
        let target = parent.isEmpty ? freshName("m") : parent + "/" + freshName("m")
        guard rename(absolute(path), absolute(target)) == 0 else { return }
        func rebase(_ item: String) -> String {
            item == path ? target : item.hasPrefix(path + "/") ? target + item.dropFirst(path.count) : item
        }
        files = files.map(rebase)
        directories = directories.map(rebase)
        performed.insert("rename directory")
    }

    private mutating func deleteFile() {
        guard let path = pick(files) else { return }
        unlink(absolute(path))
        files.removeAll { $0 == path }
        performed.insert("delete")
    }

    private mutating func makeDirectory() {
        guard let parent = pick(directories) else { return }
        let path = parent.isEmpty ? freshName("d") : parent + "/" + freshName("d")
        guard mkdir(absolute(path), 0o755) == 0 else { return }
        directories.append(path)
        performed.insert("mkdir")
    }

    private mutating func removeDirectory() {
        guard let path = pick(directories.filter { !$0.isEmpty }) else { return }
        guard rmdir(absolute(path)) == 0 else { return }  // only empty ones go
        directories.removeAll { $0 == path }
        performed.insert("rmdir")
    }

    private mutating func atomicSave() {
        guard let path = pick(files) else { return create() }
        let temporary = path + ".tmp"
        put(temporary, content(), flags: O_TRUNC)
        rename(absolute(temporary), absolute(path))
        performed.insert("atomic save")
    }
}
