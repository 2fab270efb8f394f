import Foundation
import Hashing
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Walking roots and directories: the first crawl, rescans, new directories, `.cpignore` files
/// and roots that vanish and come back.
extension WatchEngine {
    // MARK: Crawling

    /// Watches directory `key` and everything below it and marks it and all it holds as
    /// pending (a new directory: files created in it before its watch existed are found this
    /// way; also a root that came back, and a directory whose discovery came too late).
    func discover(_ key: PathKey, now: ContinuousClock.Instant, itself: Bool = true) {
        if watchOf[key] == nil && Self.identity(roots[key.root].absolute(key.path)) == nil {
            doubtSince = now  // not where its event said: moved since, or its parent's watch is misfiled
        }
        let found = walk(key.root, from: key.path)
        if itself { touch(key, now: now) }
        for path in found.directories + found.files { touch(PathKey(root: key.root, path: path), now: now) }
    }

    /// Watches every directory of root `index` and compares what is on disk with the model.
    /// `quiet`: only build the model; `rescan`: report differences as `rescanned`.
    func crawl(_ index: Int, rescan: Bool, quiet: Bool, verify: Bool = false) {
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
    func recordFirstCrawl(_ outcome: HashPool.Outcome) {
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

    func loadIgnoreFile(_ root: RootState, in directory: String) {
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
    func reloadIgnoreFile(in directory: PathKey, now: ContinuousClock.Instant) {
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

    func rootVanished(_ index: Int, now: ContinuousClock.Instant) {
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

    func lookForRoot(_ index: Int, now: ContinuousClock.Instant) {
        let root = roots[index]
        guard let identity = Self.identity(root.path), identity.mode & UInt32(S_IFMT) == UInt32(S_IFDIR) else { return }
        root.present = true
        root.model[""] = Entry(isDirectory: true, identity: identity, digest: nil)
        logger.notice("root '\(root.path)' is back")
        discover(PathKey(root: index, path: ""), now: now)
    }
}
