import CPProtocol
import Foundation
import Hashing
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The watcher's state machine (DESIGN §8). It runs on one thread: it reads events from its
/// source, keeps the model of every root, settles paths, hands files to the hashing pool and
/// emits a `FileChange` for every real difference. Nothing here touches inotify directly.
///
/// A path with activity becomes *pending*. Once it has been quiet for `settle` (and, if it was
/// being written, closed), it is *reconciled*: its state on disk is compared with the model,
/// hashed if size, time or inode moved, and reported only if something really changed. So a
/// file created and deleted within one settle time is nothing, deleted and re-created is a
/// change (if the content differs), and a burst of writes is one change. Moves are paired by
/// cookie and reported at once, since later events already use the new path.
final class WatchEngine {
    struct Settings {
        var settle: Duration = .milliseconds(200)
        /// How long a file that was written but never closed must be quiet before it is
        /// reported anyway (a writer that keeps it open, or a truncate without an open).
        var openGrace: Duration = .seconds(2)
        /// How long the first half of a move waits for its second half.
        var movePairing: Duration = .milliseconds(20)
        /// How often a missing root is looked for.
        var rootPoll: Duration = .milliseconds(250)
        var hashWorkers = 2
    }

    struct Pending {
        var since: ContinuousClock.Instant
        var lastActivity: ContinuousClock.Instant
        var writeOpen = false
        var rescan = false
    }

    struct HashTicket {
        var generation: UInt64
        var rescan: Bool
        var quiet: Bool
    }

    // The engine's state is shared with its extensions (`WatchEngine+Crawl`, `+Reconcile`),
    // so most of it is internal rather than private; only the engine's thread touches it.
    let source: FileEventSource
    let settings: Settings
    let logger: Logger
    let emit: (FileChange) -> Void
    let clock = ContinuousClock()
    private(set) var roots: [RootState] = []
    var owners: [Int32: PathKey] = [:]
    var watchOf: [PathKey: Int32] = [:]
    var pending: [PathKey: Pending] = [:]
    var hashing: [PathKey: HashTicket] = [:]
    var lastLogEmission: [PathKey: ContinuousClock.Instant] = [:]
    /// First halves of moves, by cookie; the deadline is set once the batch they came in ends.
    private var unpaired: [UInt32: (key: PathKey, isDirectory: Bool, deadline: ContinuousClock.Instant?)] = [:]
    var generation: UInt64 = 0
    /// Hashes the few small files that settle together, on the engine's thread.
    let inlineHasher = try? FileHasher(bufferSize: 1 << 16)
    static let inlineHashLimit: UInt64 = 256 << 10
    private static let inlineHashBatch = 8
    /// First-crawl batches still with the hashing pool.
    var firstCrawlBatches = 0
    private var nextDue: ContinuousClock.Instant?
    var pool: HashPool!
    var limitReported = false
    /// Directories that could not be watched because the watch limit was reached.
    var unwatchedDirectories = 0
    /// When a watch last may have been filed under a wrong path. Watches are keyed by path, and
    /// a burst of renames can leave a key behind its directory (a walk that came after a later
    /// rename of an ancestor; events queued for a watch already removed), so once the tree has
    /// been quiet a while after a directory moved, an event came for an unknown watch or a
    /// new directory was not where its event said, every watch is checked again by a rescan:
    /// only real differences are reported, as `rescanned`.
    var doubtSince: ContinuousClock.Instant?
    /// What the last crawl found: directories (the root included) and files.
    var crawled = (directories: 0, files: 0)
    /// Called after each crawl's walk: every directory is watched, nothing is hashed yet.
    var onWalked: (() -> Void)?
    /// Called once, when the first crawl's hashing has finished: the initial model is complete.
    var onInitialModelComplete: (() -> Void)?
    private var initialModelReported = false
    /// Roots whose whole model is reported once the first crawl is complete.
    private var reportedWhenComplete: [Int] = []
    /// Paths reported since the model was last saved.
    var dirty = false

    init(source: FileEventSource, settings: Settings, logger: Logger, emit: @escaping (FileChange) -> Void) {
        self.source = source
        self.settings = settings
        self.logger = logger
        self.emit = emit
        pool = HashPool(workers: settings.hashWorkers) { [weak source] in source?.wake() }
    }

    deinit { pool.stop() }

    // MARK: Roots

    /// Adds a root and crawls it. With a `saved` model (from a state file), what differs from
    /// it is reported as `rescanned`; without one the crawl is silent: it only builds the model.
    /// `reportWhole`, without `saved`: the crawl is as fast as a silent one, and once the
    /// model is complete every file in it is reported as `rescanned`.
    @discardableResult
    func addRoot(
        _ path: String, ignoreGlobs: [String], logGlobs: [String], saved: [String: Entry]? = nil,
        reportWhole: Bool = false
    ) -> Int {
        let root = RootState(path: path, ignoreGlobs: ignoreGlobs, logGlobs: logGlobs)
        if let saved { root.model = ModelTable(saved) }
        roots.append(root)
        let index = roots.count - 1
        if reportWhole && saved == nil { reportedWhenComplete.append(index) }
        crawl(index, rescan: saved != nil, quiet: saved == nil)
        return index
    }

    /// Sets a root's extra ignore and log globs (a `watchRequest`); the tree is rescanned so
    /// what the new rules hide or reveal is reported.
    func setGlobs(root index: Int, ignoreGlobs: [String]?, logGlobs: [String]?) {
        let root = roots[index]
        if let ignoreGlobs { root.ignores.setGlobal(IgnoreRules(patterns: DefaultIgnores.patterns + ignoreGlobs)) }
        if let logGlobs { root.logRules = IgnoreRules(patterns: logGlobs) }
        crawl(index, rescan: true, quiet: false)
    }

    /// Compares every root with the disk again and reports the differences as `rescanned`.
    func rescanAll() {
        for index in roots.indices where roots[index].present { crawl(index, rescan: true, quiet: false) }
    }

    // MARK: The loop's steps

    /// How long the loop may wait for events before something falls due.
    func timeout(now: ContinuousClock.Instant) -> Duration? {
        var deadline = nextDue
        for move in unpaired.values {
            guard let due = move.deadline else { continue }
            deadline = min(deadline ?? due, due)
        }
        if let doubt = doubtSince {
            let check = doubt + verifyDelay
            deadline = min(deadline ?? check, check)
        }
        if roots.contains(where: { !$0.present }) {
            let poll = now + settings.rootPoll
            deadline = min(deadline ?? poll, poll)
        }
        return deadline.map { max(.zero, $0 - now) }
    }

    /// Handles one batch of events, then whatever hashing finished and whatever fell due.
    func step(_ events: [RawEvent]) {
        let now = clock.now
        for event in events { handle(event, now: now) }
        if !events.isEmpty {
            // A move's first half whose second half did not come in the same read waits a little.
            for (cookie, move) in unpaired where move.deadline == nil {
                unpaired[cookie]?.deadline = now + settings.movePairing
            }
        }
        collectHashes()
        fireDue(now: clock.now)
        if !initialModelReported && hashing.isEmpty && firstCrawlBatches == 0 {
            initialModelReported = true
            hashing = [:]  // its capacity held every file of the crawl
            pool.releaseMemory()
            for index in reportedWhenComplete { reportModel(of: index) }
            reportedWhenComplete = []
            onInitialModelComplete?()
        }
    }

    /// Reports every directory and hashed file of root `index` as `rescanned` (one still
    /// settling is reported when it has settled).
    private func reportModel(of index: Int) {
        for (path, entry) in roots[index].model where !path.isEmpty && (entry.isDirectory || entry.digest != nil) {
            report(.rescanned, PathKey(root: index, path: path), entry)
        }
    }

    /// Settles everything now (for a clean stop): every pending path is reconciled at once
    /// and every hash waited for. Returns when nothing is left in flight.
    func flush(deadline: Duration = .seconds(30)) {
        let end = clock.now + deadline
        for (cookie, move) in unpaired {
            unpaired[cookie] = nil
            movedOut(move.key, isDirectory: move.isDirectory, now: clock.now)
        }
        repeat {
            for key in Array(pending.keys) { reconcile(key) }
            nextDue = nil
            collectHashes()
            if hashing.isEmpty && pending.isEmpty { break }
            for event in source.next(timeout: .milliseconds(20)) { handle(event, now: clock.now) }
        } while clock.now < end
    }

    /// The model of every root, for the state file.
    func snapshot() -> [(root: String, model: ModelTable)] {
        dirty = false
        return roots.map { ($0.path, $0.model) }
    }

    // MARK: Events

    private func handle(_ event: RawEvent, now: ContinuousClock.Instant) {
        if event.mask & EventMask.overflow != 0 {
            logger.warning("the kernel's event queue overflowed; rescanning every root")
            rescanAll()
            doubtSince = now  // the lost events may have been moves: check the watches too
            return
        }
        guard let owner = owners[event.watch] else {
            if event.mask & EventMask.ignored == 0 { doubtSince = now }
            return
        }
        if event.mask & EventMask.ignored != 0 {
            owners[event.watch] = nil
            if watchOf[owner] == event.watch { watchOf[owner] = nil }
            return
        }
        let root = roots[owner.root]
        if event.name.isEmpty {
            // About the directory itself: only the root's own deletion or move matters here;
            // a subdirectory's is reported by its parent.
            if owner.path.isEmpty && event.mask & (EventMask.deleteSelf | EventMask.moveSelf | EventMask.unmount) != 0 {
                rootVanished(owner.root, now: now)
            }
            return
        }
        let path = RelativePath.join(owner.path, event.name)
        let key = PathKey(root: owner.root, path: path)
        let isDirectory = event.mask & EventMask.isDirectory != 0
        if event.name == ".cpignore" && !isDirectory { reloadIgnoreFile(in: owner, now: now) }
        if event.mask & EventMask.movedFrom != 0 {
            guard !root.isIgnored(path, isDirectory: isDirectory) else { return }
            unpaired[event.cookie] = (key, isDirectory, nil)
            return
        }
        // Ignored paths have no events. A move onto an ignored name (vim's `file~`) is thus an
        // unpaired first half: for the watcher the file left.
        guard !root.isIgnored(path, isDirectory: isDirectory) else { return }
        if event.mask & EventMask.movedTo != 0 {
            if let from = unpaired.removeValue(forKey: event.cookie) {
                moved(from.key, to: key, isDirectory: isDirectory, now: now)
            } else {
                movedIn(key, isDirectory: isDirectory, now: now)
            }
            return
        }
        if isDirectory {
            if event.mask & EventMask.create != 0 {
                discover(key, now: now)
            } else if event.mask & EventMask.delete != 0 {
                touch(key, now: now)
            }
            return
        }
        let writing = event.mask & (EventMask.modify | EventMask.create) != 0
        let closed = event.mask & (EventMask.closeWrite | EventMask.delete) != 0
        touch(key, now: now, writing: writing, closed: closed)
    }

    /// Marks `key` as having activity now.
    func touch(
        _ key: PathKey, now: ContinuousClock.Instant, writing: Bool = false, closed: Bool = false,
        rescan: Bool = false
    ) {
        var entry = pending[key] ?? Pending(since: now, lastActivity: now)
        entry.lastActivity = now
        if writing { entry.writeOpen = true }
        if closed { entry.writeOpen = false }
        if rescan { entry.rescan = true }
        pending[key] = entry
        let due = dueTime(key, entry)
        nextDue = min(nextDue ?? due, due)
    }

    private func dueTime(_ key: PathKey, _ entry: Pending) -> ContinuousClock.Instant {
        if roots[key.root].isLog(key.path) {
            // Logs are streamed: at most one report per settle time, however busy they are.
            let next = lastLogEmission[key].map { $0 + settings.settle } ?? entry.since
            return max(entry.since, next)
        }
        let quiet = entry.lastActivity + settings.settle
        return entry.writeOpen ? max(quiet, entry.lastActivity + settings.openGrace) : quiet
    }

    private var verifyDelay: Duration { max(settings.settle * 5, .seconds(1)) }

    private func fireDue(now: ContinuousClock.Instant) {
        if let doubt = doubtSince, now >= doubt + verifyDelay {
            doubtSince = nil
            for index in roots.indices where roots[index].present {
                crawl(index, rescan: true, quiet: false, verify: true)
            }
        }
        for (cookie, move) in unpaired where move.deadline.map({ $0 <= now }) == true {
            unpaired[cookie] = nil
            movedOut(move.key, isDirectory: move.isDirectory, now: now)
        }
        for index in roots.indices where !roots[index].present { lookForRoot(index, now: now) }
        guard let due = nextDue, due <= now else { return }
        nextDue = nil
        var ready: [PathKey] = []
        for (key, entry) in pending {
            let time = dueTime(key, entry)
            if time <= now {
                ready.append(key)
            } else {
                nextDue = min(nextDue ?? time, time)
            }
        }
        // Parents before children, so a new directory is reported before what it holds.
        // A few settled files are hashed here at once; a burst goes to the pool, in parallel.
        let inline = ready.count <= Self.inlineHashBatch
        for key in ready.sorted(by: { $0.path.count < $1.path.count }) { reconcile(key, inline: inline) }
    }

    // MARK: Moves

    private func moved(_ from: PathKey, to: PathKey, isDirectory: Bool, now: ContinuousClock.Instant) {
        if isDirectory { doubtSince = now }
        let root = roots[from.root]
        guard from.root == to.root, let known = root.model[from.path] else {
            movedOut(from, isDirectory: isDirectory, now: now)
            movedIn(to, isDirectory: isDirectory, now: now)
            return
        }
        guard from.path != to.path else { return }
        // Everything the model, the pending set, the hashing set and the watches know under the
        // old name now lives under the new one.
        if isDirectory {
            // A move replaces what was at its target (for a subscriber as for rename(2)); with a
            // stale event the model may still hold entries there, so they go the same way.
            for path in root.paths(within: to.path) { root.model[path] = nil }
            for path in root.paths(within: from.path) {
                let entry = root.model.removeValue(forKey: path)
                root.model[RelativePath.rebase(path, from: from.path, to: to.path)] = entry
            }
        } else {
            root.model[from.path] = nil
            root.model[to.path] = known
        }
        for key in pending.keys where key.root == from.root && RelativePath.isWithin(key.path, from.path) {
            let entry = pending.removeValue(forKey: key)
            pending[PathKey(root: key.root, path: RelativePath.rebase(key.path, from: from.path, to: to.path))] = entry
        }
        for key in hashing.keys where key.root == from.root && RelativePath.isWithin(key.path, from.path) {
            // The hash in flight read the old name; settle the new one again.
            touch(PathKey(root: key.root, path: RelativePath.rebase(key.path, from: from.path, to: to.path)), now: now)
        }
        if isDirectory {
            for (watch, owner) in owners where owner.root == from.root && RelativePath.isWithin(owner.path, from.path) {
                let renamed = PathKey(
                    root: owner.root, path: RelativePath.rebase(owner.path, from: from.path, to: to.path))
                owners[watch] = renamed
                if watchOf[owner] == watch { watchOf[owner] = nil }
                watchOf[renamed] = watch
            }
            for directory in root.ignoreFiles where RelativePath.isWithin(directory, from.path) {
                root.ignoreFiles.remove(directory)
                root.ignores.removeFile(in: directory)
                loadIgnoreFile(root, in: RelativePath.rebase(directory, from: from.path, to: to.path))
            }
        }
        report(.moved, PathKey(root: to.root, path: to.path), known, from: from.path)
        dirty = true
    }

    /// The first half of a move that found no second half: the entry left the tree.
    private func movedOut(_ key: PathKey, isDirectory: Bool, now: ContinuousClock.Instant) {
        let root = roots[key.root]
        if isDirectory {
            doubtSince = now
            // Its watches keep reporting from wherever it went: end them.
            for (watch, owner) in owners where owner.root == key.root && RelativePath.isWithin(owner.path, key.path) {
                source.unwatch(watch)
                owners[watch] = nil
                if watchOf[owner] == watch { watchOf[owner] = nil }
            }
            for path in root.paths(within: key.path) { touch(PathKey(root: key.root, path: path), now: now) }
        }
        touch(key, now: now, closed: true)
    }

    /// The second half of a move whose first half was outside: the entry arrived.
    private func movedIn(_ key: PathKey, isDirectory: Bool, now: ContinuousClock.Instant) {
        if isDirectory {
            discover(key, now: now)
        } else {
            touch(key, now: now)
        }
    }
}
