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

    let source: FileEventSource
    let settings: Settings
    let logger: Logger
    private let emit: (FileChange) -> Void
    private let clock = ContinuousClock()
    private(set) var roots: [RootState] = []
    private var owners: [Int32: PathKey] = [:]
    private var watchOf: [PathKey: Int32] = [:]
    private var pending: [PathKey: Pending] = [:]
    private var hashing: [PathKey: HashTicket] = [:]
    private var lastLogEmission: [PathKey: ContinuousClock.Instant] = [:]
    /// First halves of moves, by cookie; the deadline is set once the batch they came in ends.
    private var unpaired: [UInt32: (key: PathKey, isDirectory: Bool, deadline: ContinuousClock.Instant?)] = [:]
    private var generation: UInt64 = 0
    /// Hashes the few small files that settle together, on the engine's thread.
    private let inlineHasher = try? FileHasher(bufferSize: 1 << 16)
    private static let inlineHashLimit: UInt64 = 256 << 10
    private static let inlineHashBatch = 8
    /// First-crawl batches still with the hashing pool.
    private var firstCrawlBatches = 0
    private var nextDue: ContinuousClock.Instant?
    private var pool: HashPool!
    private var limitReported = false
    /// Directories that could not be watched because the watch limit was reached.
    private(set) var unwatchedDirectories = 0
    /// When a watch last may have been filed under a wrong path. Watches are keyed by path, and
    /// a burst of renames can leave a key behind its directory (a walk that came after a later
    /// rename of an ancestor; events queued for a watch already removed), so once the tree has
    /// been quiet a while after a directory moved, an event came for an unknown watch or a
    /// new directory was not where its event said, every watch is checked again by a rescan:
    /// only real differences are reported, as `rescanned`.
    private var doubtSince: ContinuousClock.Instant?
    /// What the last crawl found: directories (the root included) and files.
    private(set) var crawled = (directories: 0, files: 0)
    /// Called after each crawl's walk: every directory is watched, nothing is hashed yet.
    var onWalked: (() -> Void)?
    /// Called once, when the first crawl's hashing has finished: the initial model is complete.
    var onInitialModelComplete: (() -> Void)?
    private var initialModelReported = false
    /// Paths reported since the model was last saved.
    private(set) var dirty = false

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
    @discardableResult
    func addRoot(_ path: String, ignoreGlobs: [String], logGlobs: [String], saved: [String: Entry]? = nil) -> Int {
        let root = RootState(path: path, ignoreGlobs: ignoreGlobs, logGlobs: logGlobs)
        if let saved { root.model = ModelTable(saved) }
        roots.append(root)
        let index = roots.count - 1
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
            onInitialModelComplete?()
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
    private func touch(
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

    // MARK: Crawling

    /// Watches directory `key` and everything below it and marks it and all it holds as
    /// pending (a new directory: files created in it before its watch existed are found this
    /// way; also a root that came back, and a directory whose discovery came too late).
    private func discover(_ key: PathKey, now: ContinuousClock.Instant, itself: Bool = true) {
        if watchOf[key] == nil && Self.identity(roots[key.root].absolute(key.path)) == nil {
            doubtSince = now  // not where its event said: moved since, or its parent's watch is misfiled
        }
        let found = walk(key.root, from: key.path)
        if itself { touch(key, now: now) }
        for path in found.directories + found.files { touch(PathKey(root: key.root, path: path), now: now) }
    }

    /// Watches every directory of root `index` and compares what is on disk with the model.
    /// `quiet`: only build the model; `rescan`: report differences as `rescanned`.
    private func crawl(_ index: Int, rescan: Bool, quiet: Bool, verify: Bool = false) {
        let root = roots[index]
        if quiet && root.model.isEmpty {
            firstCrawl(index)
            return
        }
        let found = walk(index, from: "", verify: verify)
        crawled = (found.directories.count + 1, found.files.count)
        onWalked?()
        var seen = Set<String>(minimumCapacity: found.directories.count + found.files.count)
        seen.insert("")
        for directory in found.directories {
            seen.insert(directory)
            reconcile(PathKey(root: index, path: directory), rescan: rescan, quiet: quiet)
        }
        for file in found.files {
            seen.insert(file)
            let key = PathKey(root: index, path: file)
            if pending[key] == nil { reconcile(key, rescan: rescan, quiet: quiet) }
        }
        if root.model[""] == nil, let identity = Self.identity(root.path) {
            root.model[""] = Entry(isDirectory: true, identity: identity, digest: nil)
        }
        for path in root.model.keys where !seen.contains(path) {
            reconcile(PathKey(root: index, path: path), rescan: rescan, quiet: quiet)
        }
    }

    /// A root's first crawl, with nothing known of it: every directory is watched and recorded,
    /// and the files of each directory go to the hashing pool together, with no `lstat` here
    /// (the worker's `fstat` gives each file's identity). Nothing is reported.
    private func firstCrawl(_ index: Int) {
        let root = roots[index]
        var files = 0
        let found = walk(index, from: "") { [self] directory, names in
            files += names.count
            firstCrawlBatches += 1
            pool.submit(
                HashPool.Job(
                    root: index, directory: directory, absoluteDirectory: root.absolute(directory), names: names,
                    generation: nil))
        }
        crawled = (found.directories.count + 1, files)
        onWalked?()
        root.model.reserveCapacity(found.directories.count + 1 + files)
        if let identity = Self.identity(root.path) {
            root.model[""] = Entry(isDirectory: true, identity: identity, digest: nil)
        }
        for directory in found.directories { reconcile(PathKey(root: index, path: directory), quiet: true) }
    }

    /// Records what a first crawl's batch hashed. A file with activity since the walk is
    /// settled on its own (it existed from the start, so what it becomes is a change); one that
    /// changed while it was read is settled like any change; one that cannot be read is
    /// recorded without a hash.
    private func recordFirstCrawl(_ outcome: HashPool.Outcome) {
        firstCrawlBatches -= 1
        let job = outcome.job
        let root = roots[job.root]
        for (name, result) in zip(job.names, outcome.results) {
            let key = PathKey(root: job.root, path: RelativePath.join(job.directory, name))
            guard root.model[key.path] == nil else { continue }
            let busy = pending[key] != nil || hashing[key] != nil
            switch result {
            case .success(let hashed) where !busy && !hashed.changedWhileRead:
                root.model[key.path] = Entry(isDirectory: false, identity: hashed.after, digest: hashed.digest)
            case .success(let hashed):
                root.model[key.path] = Entry(isDirectory: false, identity: hashed.before, digest: nil)
                if !busy { touch(key, now: clock.now) }
            case .failure(let error):
                // Gone since the walk, or no longer a regular file: its events tell the rest.
                guard let current = Self.identity(root.absolute(key.path)),
                    current.mode & UInt32(S_IFMT) == UInt32(S_IFREG)
                else { continue }
                root.model[key.path] = Entry(isDirectory: false, identity: current, digest: nil)
                if !busy { logger.warning("cannot hash '\(root.absolute(key.path))': \(error)") }
            }
        }
    }

    /// Walks root `index` from `start`, watching every directory not yet watched and reading
    /// `.cpignore` files, and returns the directories and files found (ignored ones left out).
    /// With `verify`, every directory's watch is asked for again: the kernel answers with the
    /// descriptor it already has, which puts that descriptor under the directory's true path.
    /// With `visit`, the files are not returned but handed over directory by directory.
    private func walk(
        _ index: Int, from start: String, verify: Bool = false, visit: ((String, [String]) -> Void)? = nil
    ) -> (directories: [String], files: [String]) {
        let root = roots[index]
        var directories: [String] = []
        var files: [String] = []
        var stack = [start]
        var unwatchedHere = 0
        defer { if unwatchedHere > 0 { reportWatchLimit(root.absolute(start), unwatched: unwatchedHere) } }
        while let directory = stack.popLast() {
            let key = PathKey(root: index, path: directory)
            if watchOf[key] == nil || verify {
                do throws(WatchFailure) {
                    let watch = try source.watch(directory: root.absolute(directory))
                    if let stale = owners[watch], stale != key, watchOf[stale] == watch { watchOf[stale] = nil }
                    owners[watch] = key
                    watchOf[key] = watch
                } catch .limitReached {
                    unwatchedDirectories += 1
                    unwatchedHere += 1
                } catch {
                    continue  // gone already, or unreadable: nothing below it to find
                }
            }
            guard let handle = opendir(root.absolute(directory)) else { continue }
            var names: [(String, Bool)] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                var kind = entry.pointee.d_type
                if kind == UInt8(DT_UNKNOWN) {
                    var info = stat()
                    guard lstat(root.absolute(RelativePath.join(directory, name)), &info) == 0 else { continue }
                    kind = (info.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : UInt8(DT_REG)
                }
                if kind == UInt8(DT_DIR) || kind == UInt8(DT_REG) { names.append((name, kind == UInt8(DT_DIR))) }
            }
            closedir(handle)
            if names.contains(where: { $0.0 == ".cpignore" && !$0.1 }) {
                loadIgnoreFile(root, in: directory)
            }
            var visible: [String] = []
            for (name, isDirectory) in names {
                let path = RelativePath.join(directory, name)
                // Only what is not ignored is descended into: the parents need no test again.
                guard
                    !root.isIgnored(path, isDirectory: isDirectory, parentVisible: directory != start || start.isEmpty)
                else { continue }
                if isDirectory {
                    directories.append(path)
                    stack.append(path)
                } else if visit != nil {
                    visible.append(name)
                } else {
                    files.append(path)
                }
            }
            if let visit, !visible.isEmpty { visit(directory, visible) }
        }
        return (directories, files)
    }

    /// Says once that the watch limit is reached, how many directories went unwatched, and
    /// a limit that would cover them (the limit is per user: other programs hold watches too).
    private func reportWatchLimit(_ directory: String, unwatched: Int) {
        guard !limitReported else { return }
        limitReported = true
        let limit = InotifySource.watchLimit
        let suggestion = (limit ?? 8192) + unwatched + 1024
        logger.error(
            """
            out of inotify watches (fs.inotify.max_user_watches = \(limit.map(String.init) ?? "unknown")): \
            \(unwatched) directories under '\(directory)' are not watched and their changes are missed; \
            raise the limit with: sysctl fs.inotify.max_user_watches=\(suggestion)
            """)
    }

    // MARK: Ignore files

    private func loadIgnoreFile(_ root: RootState, in directory: String) {
        let file = root.absolute(RelativePath.join(directory, ".cpignore"))
        if let text = try? String(contentsOfFile: file, encoding: .utf8) {
            root.ignores.setFile(in: directory, text: text)
            root.ignoreFiles.insert(directory)
        } else {
            root.ignores.removeFile(in: directory)
            root.ignoreFiles.remove(directory)
        }
    }

    /// A `.cpignore` changed: reload it and compare its subtree again (what it now hides is
    /// reported deleted, what it reveals created).
    private func reloadIgnoreFile(in directory: PathKey, now: ContinuousClock.Instant) {
        let root = roots[directory.root]
        loadIgnoreFile(root, in: directory.path)
        let found = walk(directory.root, from: directory.path)
        let visible = Set(found.directories + found.files)
        for path in root.paths(within: directory.path) where path != directory.path && !visible.contains(path) {
            touch(PathKey(root: directory.root, path: path), now: now)
        }
        for path in found.directories + found.files where root.model[path] == nil {
            touch(PathKey(root: directory.root, path: path), now: now)
        }
    }

    // MARK: Roots that vanish

    private func rootVanished(_ index: Int, now: ContinuousClock.Instant) {
        let root = roots[index]
        guard root.present else { return }
        root.present = false
        logger.warning("root '\(root.path)' is gone; watching for it to come back")
        for (watch, owner) in owners where owner.root == index {
            source.unwatch(watch)
            owners[watch] = nil
            watchOf[owner] = nil
        }
        for path in root.model.keys where !path.isEmpty { touch(PathKey(root: index, path: path), now: now) }
    }

    private func lookForRoot(_ index: Int, now: ContinuousClock.Instant) {
        let root = roots[index]
        guard let identity = Self.identity(root.path), identity.mode & UInt32(S_IFMT) == UInt32(S_IFDIR) else { return }
        root.present = true
        root.model[""] = Entry(isDirectory: true, identity: identity, digest: nil)
        logger.notice("root '\(root.path)' is back")
        discover(PathKey(root: index, path: ""), now: now)
    }

    // MARK: Reconciling

    /// Compares `key`'s state on disk with the model and reports the difference, hashing
    /// first when the content may have changed.
    /// `inline`: a small file is hashed here rather than by the pool (two thread hand-offs
    /// fewer between a change settling and its report).
    private func reconcile(_ key: PathKey, rescan: Bool = false, quiet: Bool = false, inline: Bool = false) {
        let wasPending = pending.removeValue(forKey: key)
        let rescan = rescan || wasPending?.rescan == true
        let root = roots[key.root]
        let known = root.model[key.path]
        guard let current = Self.identity(root.absolute(key.path)) else {
            if known != nil { removeSubtree(key, rescan: rescan, quiet: quiet) }
            return
        }
        let kind = current.mode & UInt32(S_IFMT)
        if !quiet && root.isIgnored(key.path, isDirectory: kind == UInt32(S_IFDIR)) {  // a quiet crawl's walk filtered
            if known != nil { removeSubtree(key, rescan: rescan, quiet: quiet) }  // hidden by new rules
            return
        }
        if kind == UInt32(S_IFDIR) {
            if let known, !known.isDirectory { removeSubtree(key, rescan: rescan, quiet: quiet) }
            if root.model[key.path] == nil {
                commit(key, Entry(isDirectory: true, identity: current, digest: nil), rescan: rescan, quiet: quiet)
            } else {
                root.model[key.path]?.identity = current
            }
            if watchOf[key] == nil && !limitReported {
                // Its discovery came too late (an ancestor was renamed before the walk got
                // there): watch it now and settle what it holds.
                discover(key, now: clock.now, itself: false)  // itself: just reconciled
            }
            return
        }
        guard kind == UInt32(S_IFREG) else { return }  // links, sockets, devices: not content
        if let known, known.isDirectory { removeSubtree(key, rescan: rescan, quiet: quiet) }
        if root.isLog(key.path) {
            reconcileLog(key, current, rescan: rescan, quiet: quiet)
            return
        }
        if let known = root.model[key.path], known.digest != nil, Self.sameContentIdentity(known.identity, current) {
            root.model[key.path]?.identity.mode = current.mode
            return
        }
        if quiet && root.model[key.path] == nil {
            // Known to exist from the start: if it changes before its first hash is in, that
            // is a change, not a creation.
            root.model[key.path] = Entry(isDirectory: false, identity: current, digest: nil)
        }
        generation += 1
        let ticket = HashTicket(generation: generation, rescan: rescan, quiet: quiet)
        if inline && current.size <= Self.inlineHashLimit, let hasher = inlineHasher {
            hashing[key] = nil  // what is in flight for it is stale now
            let result: Result<FileHasher.Result, HashingError>
            do {
                result = .success(try hasher.hash(root.absolute(key.path)))
            } catch let error as HashingError {
                result = .failure(error)
            } catch {
                result = .failure(.file(path: root.absolute(key.path), call: "hash", errno: EIO))
            }
            finishHash(key, ticket, result)
            return
        }
        hashing[key] = ticket
        let directory = RelativePath.parent(key.path)
        pool.submit(
            HashPool.Job(
                root: key.root, directory: directory, absoluteDirectory: root.absolute(directory),
                names: [RelativePath.name(key.path)], generation: generation))
    }

    private static func sameContentIdentity(_ left: FileIdentity, _ right: FileIdentity) -> Bool {
        left.size == right.size && left.modified == right.modified && left.inode == right.inode
            && left.device == right.device
    }

    private func reconcileLog(_ key: PathKey, _ current: FileIdentity, rescan: Bool, quiet: Bool) {
        let root = roots[key.root]
        let entry = Entry(isDirectory: false, identity: current, digest: nil)
        lastLogEmission[key] = clock.now
        guard let known = root.model[key.path], !quiet else {
            commit(key, entry, rescan: rescan, quiet: quiet)
            return
        }
        root.model[key.path] = entry
        if current.size > known.identity.size && current.inode == known.identity.inode {
            report(rescan ? .rescanned : .appended, key, entry, range: [known.identity.size, current.size])
        } else if current.size != known.identity.size || current.inode != known.identity.inode {
            report(rescan ? .rescanned : .changed, key, entry)
        }
    }

    private func collectHashes() {
        for outcome in pool.collect() {
            let job = outcome.job
            guard let generation = job.generation, let name = job.names.first, let result = outcome.results.first else {
                recordFirstCrawl(outcome)
                continue
            }
            let key = PathKey(root: job.root, path: RelativePath.join(job.directory, name))
            guard let ticket = hashing[key], ticket.generation == generation else { continue }
            hashing[key] = nil
            guard pending[key] == nil else { continue }  // newer activity: settled again later
            finishHash(key, ticket, result)
        }
    }

    /// What a file's hash means: recorded (and reported if new), or the file settled again
    /// when it changed while it was read.
    private func finishHash(_ key: PathKey, _ ticket: HashTicket, _ result: Result<FileHasher.Result, HashingError>) {
        switch result {
        case .failure(let error):
            let root = roots[key.root]
            guard let current = Self.identity(root.absolute(key.path)) else {
                touch(key, now: clock.now, rescan: ticket.rescan)  // gone by now: settle again
                return
            }
            // There but unreadable: reported without a hash rather than retried forever.
            logger.warning("cannot hash '\(root.absolute(key.path))': \(error)")
            commit(
                key, Entry(isDirectory: false, identity: current, digest: nil), rescan: ticket.rescan,
                quiet: ticket.quiet)
        case .success(let result):
            let root = roots[key.root]
            // The first crawl trusts the hasher's own before/after check: later changes come as events.
            guard !result.changedWhileRead, ticket.quiet || Self.identity(root.absolute(key.path)) == result.after
            else {
                touch(key, now: clock.now, rescan: ticket.rescan)
                return
            }
            commit(
                key, Entry(isDirectory: false, identity: result.after, digest: result.digest),
                rescan: ticket.rescan, quiet: ticket.quiet)
        }
    }

    /// Records `entry` for `key` and reports it, unless the content is what was reported.
    private func commit(_ key: PathKey, _ entry: Entry, rescan: Bool, quiet: Bool) {
        let root = roots[key.root]
        let known = root.model[key.path]
        root.model[key.path] = entry
        if let known, known.isDirectory == entry.isDirectory, known.digest == entry.digest, !root.isLog(key.path) {
            return  // touched, or rewritten with the same bytes: nothing to tell
        }
        guard !quiet else { return }
        report(rescan ? .rescanned : (known == nil ? .created : .changed), key, entry)
    }

    /// `key` is gone: it and everything the model holds below it are reported deleted,
    /// deepest first.
    private func removeSubtree(_ key: PathKey, rescan: Bool, quiet: Bool) {
        let root = roots[key.root]
        let paths = root.model[key.path]?.isDirectory == true ? root.paths(within: key.path) : [key.path]
        for path in paths {
            guard let entry = root.model.removeValue(forKey: path) else { continue }
            pending[PathKey(root: key.root, path: path)] = nil
            lastLogEmission[PathKey(root: key.root, path: path)] = nil
            guard !quiet else { continue }
            emit(
                FileChange(
                    reason: rescan ? .rescanned : .deleted, root: root.path, path: path, exists: false,
                    isDir: entry.isDirectory))
            dirty = true
        }
    }

    private func report(
        _ reason: FileChange.Reason, _ key: PathKey, _ entry: Entry, from: String? = nil, range: [UInt64]? = nil
    ) {
        let root = roots[key.root]
        dirty = true
        emit(
            FileChange(
                reason: reason, root: root.path, path: key.path, from: from, exists: true, isDir: entry.isDirectory,
                size: entry.isDirectory ? nil : entry.identity.size, mtime: Double(entry.identity.modified) / 1e9,
                sha256: entry.digest?.hex, mode: entry.identity.mode & 0o7777, range: range))
    }

    static func identity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return FileIdentity(info)
    }
}
