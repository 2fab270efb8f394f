import CLibSSH
import Foundation
import Synchronization

/// One range of a download and how much of it is already in the partial file.
struct DownloadRange: Sendable, Equatable {
    let start: UInt64
    let end: UInt64
    var done: UInt64

    var isComplete: Bool { start + done >= end }
}

/// How a download is split and where each range stands. The bytes go to one partial file,
/// `.NAME.cp-part`, each range written in order at its own offset; `.NAME.cp-part.ranges`
/// records each range's completed length and is rewritten after the data, so after any
/// interruption (even `kill -9`) it never claims bytes that are not there, and `--resume`
/// continues every range from it. A partial file without a record (one session, or an older
/// download) is a prefix of the file.
struct DownloadPlan: Sendable {
    let partial: String
    let size: UInt64
    let ranges: [DownloadRange]

    var record: String { partial + ".ranges" }

    init(local: String, size: UInt64, resume: Bool, ranges count: Int) throws(SFTPError) {
        partial = SFTPSession.partialName(for: local)
        self.size = size
        let record = partial + ".ranges"
        if !resume {
            unlink(partial)
            unlink(record)
        }
        if resume, let recorded = Self.read(record) {
            guard recorded.last?.end == size, recorded.first?.start == 0 else {
                throw .local(
                    operation: "resume", path: partial,
                    reason: "the partial file does not fit the remote file any more; get it again without --resume")
            }
            ranges = recorded
            return
        }
        let existing = (try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? UInt64) ?? 0
        if resume && existing > 0 {
            guard existing <= size else {
                throw .local(
                    operation: "resume", path: partial,
                    reason: "the partial file is longer than the remote file; get it again without --resume")
            }
            ranges = [DownloadRange(start: 0, end: size, done: existing)]
            return
        }
        let pieces = size >= SFTPSession.parallelThreshold ? UInt64(count) : 1
        let chunk = UInt64(SFTPSession.readChunk)
        let share = max(chunk, (size / pieces + chunk - 1) / chunk * chunk)
        ranges = stride(from: UInt64(0), to: max(size, 1), by: Int(share)).map { start in
            DownloadRange(start: start, end: min(size, start + share), done: 0)
        }
    }

    /// The record's text: one `start end done` line per range, each number padded to 20
    /// digits so every rewrite has the same length and can overwrite the last in place.
    static func encode(_ ranges: [DownloadRange]) -> String {
        func padded(_ number: UInt64) -> String {
            let digits = String(number)
            return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
        }
        return ranges.map { "\(padded($0.start)) \(padded($0.end)) \(padded($0.done))\n" }.joined()
    }

    private static func read(_ path: String) -> [DownloadRange]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let ranges = text.split(separator: "\n").compactMap { line -> DownloadRange? in
            let fields = line.split(separator: " ").compactMap { UInt64($0) }
            guard fields.count == 3, fields[0] + fields[2] <= fields[1] else { return nil }
            return DownloadRange(start: fields[0], end: fields[1], done: fields[2])
        }
        return ranges.isEmpty ? nil : ranges
    }
}

/// The ranges' progress, shared by the writers and written to the record after the data.
final class RangeRecord: @unchecked Sendable {
    private let state: Mutex<[DownloadRange]>
    private let descriptor: Int32

    init(_ ranges: [DownloadRange], path: String) {
        state = Mutex(ranges)
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Range `index` has `count` more bytes on disk. The record is overwritten in place
    /// (fixed-width lines), under the lock so two writers never interleave.
    func advance(_ index: Int, by count: UInt64) {
        state.withLock { ranges in
            ranges[index].done += count
            guard descriptor >= 0 else { return }
            let text = DownloadPlan.encode(ranges)
            _ = text.utf8CString.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count - 1, 0) }
        }
    }
}

extension SFTPSession {
    /// Fetches every unfinished range of `plan`, one writer each (a writer takes several when
    /// there are fewer writers than ranges), then renames the partial file over `local`.
    func download(
        _ remote: String, plan: DownloadPlan, to local: String, writers: [SFTPSession], preserve: Bool,
        progress: TransferProgress?
    ) async throws(SFTPError) {
        let target = try LocalFile.openForWriting(plan.partial, resume: true)
        let counter = ProgressCounter(total: plan.size, report: progress)
        counter.add(plan.ranges.reduce(0) { $0 + $1.done })
        let record = RangeRecord(plan.ranges, path: plan.record)
        let pending = plan.ranges.indices.filter { !plan.ranges[$0].isComplete }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, writer) in writers.enumerated() {
                    let mine = pending.enumerated().filter { $0.offset % writers.count == index }.map(\.element)
                    group.addTask {
                        for rangeIndex in mine {
                            let range = plan.ranges[rangeIndex]
                            try await writer.run { (handles) throws(SFTPError) in
                                _ = try SFTPSession.read(remote, range: (range.start + range.done)..<range.end, handles)
                                {
                                    (bytes, offset) throws(SFTPError) in
                                    try target.write(bytes, at: offset)
                                    record.advance(rangeIndex, by: UInt64(bytes.count))
                                    counter.add(UInt64(bytes.count))
                                }
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
        try target.finish(renamingTo: local, modified: attributes)
        unlink(plan.record)
    }
}
