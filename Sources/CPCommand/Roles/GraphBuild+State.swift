import ArtefactManager
import CPModel
import DependencyGraph
import Foundation
import RulesManager

/// A project's state for `cp graph`: the state file, read ahead, and the build lock.
extension GraphBuild {
    /// A project's state file and the digests it remembers, read on another thread while the
    /// project loads (each is a good part of a large project's first plan). Without a state
    /// file nothing is read ahead; the file is created when a command first needs it.
    final class State: @unchecked Sendable {
        let root: String
        private var opened: Result<(SQLiteBuildStateStore, DiskFileStates), Error>?
        private let done = DispatchSemaphore(value: 0)
        private var reading = false

        /// `readAhead`: start reading now (for the commands that will use it).
        init(root: String, readAhead: Bool) {
            self.root = root
            guard readAhead, FileManager.default.fileExists(atPath: statePath(root)) else { return }
            reading = true
            Thread { [self] in
                opened = Result { try Self.open(root) }
                done.signal()
            }.start()
        }

        /// Waits for the read ahead, if any: the process must not exit under it (SQLite and the
        /// runtime would be torn down while it runs; see `aTargetLimitsTheGoalsAndAnUnknownOneIsNamed`).
        func finish() {
            if reading {
                done.wait()
                reading = false
            }
        }

        /// The store (created if need be) and the files' states over it.
        func get() throws -> (SQLiteBuildStateStore, DiskFileStates) {
            finish()
            if opened == nil { opened = Result { try Self.open(root) } }
            return try opened!.get()
        }

        private static func open(_ root: String) throws -> (SQLiteBuildStateStore, DiskFileStates) {
            let store = try SQLiteBuildStateStore(path: statePath(root))
            try store.preload()
            return (store, DiskFileStates(root: root, cache: store))
        }
    }

    /// Holds `.cp/build.lock` for as long as it lives: one build of a project at a time (two
    /// would run the same tasks over each other's files). The kernel drops the lock when the
    /// process ends, however it ends; the file keeps the holder's pid for the message.
    final class BuildLock {
        private let descriptor: Int32

        init(_ root: String) throws {
            let path = root + "/.cp/build.lock"
            try? FileManager.default.createDirectory(atPath: root + "/.cp", withIntermediateDirectories: true)
            descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                throw DefinitionError(what: "lock", file: path, "cannot open it: \(String(cString: strerror(errno)))")
            }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                close(descriptor)
                throw DefinitionError(
                    what: "project", file: root,
                    "another build of it is running\(holder.map { $0.isEmpty ? "" : " (pid \($0))" } ?? ""); wait for it, or stop it"
                )
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(descriptor, 0)
            _ = pwrite(descriptor, pid, pid.count, 0)
        }

        deinit { close(descriptor) }
    }
}
