import CLibSSH
import Foundation
import Synchronization

/// How a transfer is going: bytes done so far and the total.
public typealias TransferProgress = @Sendable (_ done: UInt64, _ total: UInt64) -> Void

extension SFTPSession {
    /// Bytes asked for by one read request, and how many requests are kept in flight
    /// (PLATFORM.md: pipelined reads are what makes SFTP fast).
    static let readChunk = 64 * 1024
    static let readWindow = 32
    /// Bytes per write; OpenSSH's server accepts up to 255 KiB (PLATFORM.md).
    static let writeChunk = 255 * 1024

    /// Files at least this large move over several sessions at once: libssh 0.10 writes
    /// synchronously (no `sftp_aio_*`) and one session's channel window caps reads on a slow
    /// link, so one session cannot keep the link busy (PLATFORM.md, docs/decisions.md).
    static let parallelThreshold: UInt64 = 32 * 1024 * 1024
    static let parallelWriters = 3

    /// Uploads the local file `local` to `remote` atomically: written under a temporary name
    /// in the target directory and renamed over `remote` only when complete. With
    /// `preserve`, the file's mode and modification time are kept.
    public func upload(
        _ local: String, to remote: String, preserve: Bool = false, progress: TransferProgress? = nil
    ) async throws(SFTPError) {
        let source = try LocalFile.openForReading(local)
        let temporary = SFTPSession.temporaryName(for: remote)
        do throws(SFTPError) {
            let helpers = source.size >= Self.parallelThreshold ? await helperSessions() : []
            do throws(SFTPError) {
                try await write(source, to: temporary, writers: [self] + helpers, progress: progress)
            } catch {
                for helper in helpers { await helper.close() }
                throw error
            }
            for helper in helpers { await helper.close() }
            try await run { (handles) throws(SFTPError) in
                if preserve { try SFTPSession.applyModeAndTime(of: source, to: temporary, handles) }
                try SFTPSession.replace(remote, with: temporary, handles)
            }
        } catch {
            _ = try? await run { (handles) throws(SFTPError) in _ = sftp_unlink(handles.sftp, temporary) }
            throw error.naming(remote, insteadOf: temporary)
        }
    }

    /// More sessions to the same host for a parallel transfer; fewer (or none) if they
    /// cannot be had.
    func helperSessions(count: Int = parallelWriters - 1) async -> [SFTPSession] {
        var options = self.options
        options.acceptNew = false  // the host is known by now; a change must still be refused
        var helpers: [SFTPSession] = []
        for _ in 0..<count {
            guard let helper = try? await SFTPSession.connect(address, options: options) else { break }
            helpers.append(helper)
        }
        return helpers
    }

    /// Creates `remote` and writes `source` into it, each writer taking one contiguous range.
    private func write(
        _ source: LocalFile, to remote: String, writers: [SFTPSession], progress: TransferProgress?
    ) async throws(SFTPError) {
        try await run { (handles) throws(SFTPError) in
            guard let file = sftp_open(handles.sftp, remote, O_WRONLY | O_CREAT | O_TRUNC, source.mode) else {
                throw handles.error("put", remote)
            }
            guard sftp_close(file) == SSH_OK else { throw handles.error("put", remote) }
        }
        let chunk = UInt64(Self.writeChunk)
        let share = (source.size / UInt64(writers.count) + chunk - 1) / chunk * chunk
        let counter = ProgressCounter(total: source.size, report: progress)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, writer) in writers.enumerated() {
                    let start = min(source.size, UInt64(index) * share)
                    let end = index == writers.count - 1 ? source.size : min(source.size, start + share)
                    group.addTask {
                        try await writer.run { (handles) throws(SFTPError) in
                            try SFTPSession.write(source, range: start..<end, to: remote, handles, counter: counter)
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch let error as SFTPError {
            throw error
        } catch {
            throw .remote(operation: "put", path: remote, reason: "\(error)")
        }
    }

    /// Downloads `remote` to the local path `local`, keeping several reads in flight. The
    /// bytes go to a partial file beside `local`, renamed over it only when complete; with
    /// `resume`, what an interrupted download left is continued, range by range.
    /// Files of `parallelThreshold` or more are read over several sessions, one range
    /// each (see `SFTPSession+RangedDownload.swift`).
    public func download(
        _ remote: String, to local: String, resume: Bool = false, preserve: Bool = false,
        progress: TransferProgress? = nil
    ) async throws(SFTPError) {
        let size = try await run { (handles) throws(SFTPError) -> UInt64 in
            guard let attributes = sftp_stat(handles.sftp, remote) else { throw handles.error("get", remote) }
            defer { sftp_attributes_free(attributes) }
            return attributes.pointee.size
        }
        let plan = try DownloadPlan(local: local, size: size, resume: resume, ranges: Self.parallelWriters)
        let ranges = plan.ranges.filter { !$0.isComplete }
        let helpers = ranges.count > 1 ? await helperSessions(count: ranges.count - 1) : []
        do throws(SFTPError) {
            try await download(
                remote, plan: plan, to: local, writers: [self] + helpers, preserve: preserve, progress: progress)
        } catch {
            for helper in helpers { await helper.close() }
            throw error
        }
        for helper in helpers { await helper.close() }
    }

    static func temporaryName(for remote: String) -> String {
        let directory = (remote as NSString).deletingLastPathComponent
        let name = (remote as NSString).lastPathComponent
        let temporary = ".\(name).cp-tmp-\(UInt32.random(in: 0...UInt32.max))"
        return directory.isEmpty ? temporary : directory + "/" + temporary
    }

    /// `dir/.NAME.cp-part` for `dir/NAME`.
    public static func partialName(for local: String) -> String {
        let directory = (local as NSString).deletingLastPathComponent
        let name = ".\((local as NSString).lastPathComponent).cp-part"
        return directory.isEmpty ? name : directory + "/" + name
    }

    /// Writes bytes `range` of `source` into the existing file `remote`.
    private static func write(
        _ source: LocalFile, range: Range<UInt64>, to remote: String, _ handles: SSHHandles, counter: ProgressCounter
    ) throws(SFTPError) {
        guard let file = sftp_open(handles.sftp, remote, O_WRONLY, 0) else { throw handles.error("put", remote) }
        var closed = false
        defer { if !closed { sftp_close(file) } }
        guard sftp_seek64(file, range.lowerBound) == SSH_OK else { throw handles.error("put", remote) }
        var buffer = [UInt8](repeating: 0, count: writeChunk)
        var offset = range.lowerBound
        while offset < range.upperBound {
            let wanted = Int(min(UInt64(writeChunk), range.upperBound - offset))
            if buffer.count != wanted { buffer = [UInt8](repeating: 0, count: wanted) }
            let count = try source.read(into: &buffer, at: offset)
            if count == 0 { break }
            let written = buffer.withUnsafeBytes { sftp_write(file, $0.baseAddress, count) }
            guard written == count else { throw handles.writeError(remote) }
            offset += UInt64(count)
            counter.add(UInt64(count))
        }
        closed = true
        guard sftp_close(file) == SSH_OK else { throw handles.error("put", remote) }
    }

    private static func applyModeAndTime(of source: LocalFile, to remote: String, _ handles: SSHHandles)
        throws(SFTPError)
    {
        guard sftp_chmod(handles.sftp, remote, source.mode) == SSH_OK else { throw handles.error("chmod", remote) }
        var times = [timeval(tv_sec: source.modified, tv_usec: 0), timeval(tv_sec: source.modified, tv_usec: 0)]
        guard sftp_utimes(handles.sftp, remote, &times) == SSH_OK else {
            throw handles.error("set the time of", remote)
        }
    }

    /// Reads bytes `range` of `remote`, handing each chunk and its offset to `deliver`.
    /// Returns the remote attributes.
    static func read(
        _ remote: String, range: Range<UInt64>, _ handles: SSHHandles,
        deliver: (UnsafeRawBufferPointer, UInt64) throws(SFTPError) -> Void
    ) throws(SFTPError) -> RemoteAttributes? {
        try read(remote, range: range, from: range.lowerBound, handles) { (bytes, offset, _) throws(SFTPError) in
            try deliver(bytes, offset)
        }
    }

    /// The pipelined reader: up to `readWindow` requests in flight, from `start` to the end of
    /// `range` (or of the file), never asking past it. Every request id is consumed, even
    /// after EOF or an error (PLATFORM.md).
    private static func read(
        _ remote: String, range: Range<UInt64>?, from start: UInt64, _ handles: SSHHandles,
        deliver: (UnsafeRawBufferPointer, UInt64, UInt64) throws(SFTPError) -> Void
    ) throws(SFTPError) -> RemoteAttributes {
        guard let file = sftp_open(handles.sftp, remote, O_RDONLY, 0) else { throw handles.error("get", remote) }
        defer { sftp_close(file) }
        guard let stat = sftp_fstat(file) else { throw handles.error("get", remote) }
        let attributes = RemoteAttributes(stat, name: (remote as NSString).lastPathComponent)
        sftp_attributes_free(stat)
        let end = range?.upperBound ?? attributes.size
        if start > end {
            throw .local(operation: "resume", path: remote, reason: "the partial file is longer than the remote file")
        }
        guard sftp_seek64(file, start) == SSH_OK else { throw handles.error("get", remote) }
        var pending: [(id: Int32, offset: UInt64, length: Int)] = []
        var requested = start
        var received = start
        var buffer = [UInt8](repeating: 0, count: readChunk)
        var failure: SFTPError?
        while true {
            while requested < end && pending.count < readWindow && failure == nil {
                let length = Int(min(UInt64(readChunk), end - requested))
                let id = sftp_async_read_begin(file, UInt32(length))
                guard id >= 0 else { failure = handles.error("get", remote); break }
                pending.append((id, requested, length))
                requested += UInt64(length)
            }
            guard !pending.isEmpty else { break }
            let request = pending.removeFirst()
            let count = buffer.withUnsafeMutableBytes {
                sftp_async_read(file, $0.baseAddress, UInt32(request.length), UInt32(request.id))
            }
            guard failure == nil else { continue }
            if count < 0 { failure = handles.error("get", remote); continue }
            if Int(count) != request.length {  // the file changed size under us, or a short read
                failure = .remote(operation: "get", path: remote, reason: "the file changed while it was read")
                continue
            }
            buffer.withUnsafeBytes { bytes in
                do throws(SFTPError) {
                    try deliver(
                        UnsafeRawBufferPointer(rebasing: bytes[0..<Int(count)]), request.offset, attributes.size)
                } catch {
                    failure = error
                }
            }
            guard failure == nil else { continue }
            received += UInt64(count)
        }
        if let failure { throw failure }
        guard received == end else {
            throw .remote(operation: "get", path: remote, reason: "got \(received) of \(end) bytes")
        }
        return attributes
    }
}

/// Bytes written by several writers, reported as one total.
final class ProgressCounter: Sendable {
    private let doneCount = Atomic<UInt64>(0)
    private let total: UInt64
    private let report: TransferProgress?

    init(total: UInt64, report: TransferProgress?) {
        self.total = total
        self.report = report
    }

    func add(_ count: UInt64) {
        let now = doneCount.wrappingAdd(count, ordering: .relaxed).newValue
        report?(now, total)
    }

    /// Bytes counted so far.
    var done: UInt64 { doneCount.load(ordering: .relaxed) }
}
