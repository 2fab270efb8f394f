import CPProtocol
import Foundation
import Hashing
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Settling a path: its state on disk against the model, hashing, and the changes reported.
extension WatchEngine {
    // MARK: Reconciling

    /// Compares `key`'s state on disk with the model and reports the difference, hashing
    /// first when the content may have changed.
    /// `inline`: a small file is hashed here rather than by the pool (two thread hand-offs
    /// fewer between a change settling and its report).
    func reconcile(_ key: PathKey, rescan: Bool = false, quiet: Bool = false, inline: Bool = false) {
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

    func collectHashes() {
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

    func report(
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
