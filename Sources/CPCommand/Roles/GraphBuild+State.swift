import ArtefactManager
import CPModel
import DependencyGraph
import Foundation
import RulesManager
import Synchronization

/// A project's state for `cp graph`: the state file, read ahead.
extension GraphBuild {
    /// A project's state file and the digests it remembers, read on a thread of its own while
    /// the project loads (each is a good part of a large project's first plan). Without a state
    /// file nothing is read ahead; the file is created when a command first needs it.
    final class State: Sendable {
        let root: String
        private let reading: Task<Opened, Never>?
        private let opened = Mutex<Opened?>(nil)

        /// The store and the files' states over it, or why they could not be opened; handed
        /// from the reading thread to the command as a whole, and used by one task at a time.
        struct Opened: @unchecked Sendable {
            let result: Result<(SQLiteBuildStateStore, DiskFileStates), Error>
        }

        /// `readAhead`: start reading now (for the commands that will use it).
        init(root: String, readAhead: Bool) {
            self.root = root
            guard readAhead, FileManager.default.fileExists(atPath: statePath(root)) else {
                reading = nil
                return
            }
            reading = Task { await onThreadOfItsOwn("cp-state") { Self.open(root) } }
        }

        /// Waits for the read ahead, if any: the process must not exit under it (SQLite and the
        /// runtime would be torn down while it runs; see `aTargetLimitsTheGoalsAndAnUnknownOneIsNamed`).
        func finish() async {
            if let reading {
                let read = await reading.value
                opened.withLock { $0 = $0 ?? read }
            }
        }

        /// The store (created if need be) and the files' states over it.
        func get() async throws -> (SQLiteBuildStateStore, DiskFileStates) {
            await finish()
            if let done = opened.withLock({ $0 }) { return try done.result.get() }
            let root = root
            let read = await onThreadOfItsOwn("cp-state") { Self.open(root) }
            opened.withLock { $0 = read }
            return try read.result.get()
        }

        private static func open(_ root: String) -> Opened {
            Opened(
                result: Result {
                    let store = try SQLiteBuildStateStore(path: statePath(root))
                    try store.preload()
                    return (store, DiskFileStates(root: root, cache: store))
                })
        }
    }
}
