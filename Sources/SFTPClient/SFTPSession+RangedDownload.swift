import CLibSSH
import Foundation

/// One range of a download and the part file that holds its prefix.
struct DownloadRange: Sendable {
    let start: UInt64
    let end: UInt64
    /// `.NAME.cp-part` for the range at 0, `.NAME.cp-part-<start>` for the others.
    let partPath: String
    /// Bytes of the range already in the part file.
    let done: UInt64

    var isComplete: Bool { start + done >= end }
}

/// How a download is split and where each range stands. Every part file is a prefix of its
/// range, written in order, so whatever a killed download left can be continued: `--resume`
/// finds the ranges from the part files' names, and without it stale parts are removed.
struct DownloadPlan: Sendable {
    let local: String
    let size: UInt64
    let ranges: [DownloadRange]

    init(local: String, size: UInt64, resume: Bool, ranges count: Int) throws(SFTPError) {
        self.local = local
        self.size = size
        let first = SFTPSession.partialName(for: local)
        let existing = Self.laterParts(of: first)
        if !resume {
            for (_, path) in existing { unlink(path) }
            unlink(first)
        }
        var starts: [UInt64]
        if resume && (FileManager.default.fileExists(atPath: first) || !existing.isEmpty) {
            starts = [0] + existing.map(\.start)  // continue the ranges the interrupted download chose
        } else {
            let pieces = size >= SFTPSession.parallelUploadThreshold ? UInt64(count) : 1
            let chunk = UInt64(SFTPSession.readChunk)
            let share = (size / pieces + chunk - 1) / chunk * chunk
            starts = (0..<pieces).map { $0 * share }.filter { $0 < size || $0 == 0 }
        }
        var ranges: [DownloadRange] = []
        for (index, start) in starts.enumerated() {
            let end = index + 1 < starts.count ? starts[index + 1] : size
            let path = start == 0 ? first : "\(first)-\(start)"
            let done = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0
            guard start + done <= end else {
                throw .local(
                    operation: "resume", path: path,
                    reason: "the partial file does not fit the remote file any more; get it again without --resume")
            }
            ranges.append(DownloadRange(start: start, end: end, partPath: path, done: done))
        }
        self.ranges = ranges
    }

    /// The part files `.NAME.cp-part-<start>` beside `first`, by start.
    private static func laterParts(of first: String) -> [(start: UInt64, path: String)] {
        let directory = (first as NSString).deletingLastPathComponent
        let prefix = (first as NSString).lastPathComponent + "-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []
        return names.compactMap { name -> (UInt64, String)? in
            guard name.hasPrefix(prefix), let start = UInt64(name.dropFirst(prefix.count)), start > 0 else {
                return nil
            }
            return (start, directory.isEmpty ? name : directory + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }
}

extension SFTPSession {
    /// Fetches every unfinished range of `plan`, one writer each (a writer takes several when
    /// there are fewer writers than ranges), then joins the parts into `plan.local`.
    func download(
        _ remote: String, plan: DownloadPlan, writers: [SFTPSession], preserve: Bool, progress: TransferProgress?
    ) async throws(SFTPError) {
        let counter = ProgressCounter(total: plan.size, report: progress)
        counter.add(plan.ranges.reduce(0) { $0 + $1.done })
        let pending = plan.ranges.filter { !$0.isComplete }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, writer) in writers.enumerated() {
                    let mine = pending.enumerated().filter { $0.offset % writers.count == index }.map(\.element)
                    group.addTask {
                        for range in mine {
                            try await writer.run { (handles) throws(SFTPError) in
                                try SFTPSession.fetch(remote, range, handles, counter: counter)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch let error as SFTPError {
            throw error
        } catch {
            throw .remote(operation: "get", path: remote, reason: "\(error)")
        }
        let attributes = preserve ? try await stat(remote) : nil
        try LocalFile.join(plan.ranges.map(\.partPath), into: plan.local, modified: attributes)
    }

    /// Appends the rest of `range` to its part file.
    private static func fetch(
        _ remote: String, _ range: DownloadRange, _ handles: SSHHandles, counter: ProgressCounter
    ) throws(SFTPError) {
        let part = try LocalFile.openForWriting(range.partPath, resume: true)
        _ = try read(remote, range: (range.start + range.done)..<range.end, handles) { (bytes, _) throws(SFTPError) in
            try part.write(bytes)
            counter.add(UInt64(bytes.count))
        }
    }
}
