import CLibSSH
import Foundation

/// How a transfer is going: bytes done so far and the total.
public typealias TransferProgress = @Sendable (_ done: UInt64, _ total: UInt64) -> Void

extension SFTPSession {
    /// Bytes asked for by one read request, and how many requests are kept in flight
    /// (PLATFORM.md: pipelined reads are what makes SFTP fast).
    static let readChunk = 64 * 1024
    static let readWindow = 32
    /// Bytes per write; OpenSSH's server accepts up to 255 KiB (PLATFORM.md).
    static let writeChunk = 255 * 1024

    /// Uploads the local file `local` to `remote` atomically: written under a temporary name
    /// in the target directory and renamed over `remote` only when complete. With
    /// `preserve`, the file's mode and modification time are kept.
    public func upload(
        _ local: String, to remote: String, preserve: Bool = false, progress: TransferProgress? = nil
    ) async throws(SFTPError) {
        let source = try LocalFile.openForReading(local)
        try await run { (handles) throws(SFTPError) in
            let temporary = SFTPSession.temporaryName(for: remote)
            do throws(SFTPError) {
                try SFTPSession.write(source, to: temporary, handles, progress: progress)
                if preserve { try SFTPSession.applyModeAndTime(of: source, to: temporary, handles) }
                try SFTPSession.replace(remote, with: temporary, handles)
            } catch {
                _ = sftp_unlink(handles.sftp, temporary)  // best effort: the connection may be gone
                throw error
            }
        }
    }

    /// Downloads `remote` to the local path `local`, keeping several reads in flight. The
    /// bytes go to a partial file beside `local`, renamed over it only when complete; with
    /// `resume`, a partial file left by an interrupted download is continued.
    public func download(
        _ remote: String, to local: String, resume: Bool = false, preserve: Bool = false,
        progress: TransferProgress? = nil
    ) async throws(SFTPError) {
        try await run { (handles) throws(SFTPError) in
            let partial = SFTPSession.partialName(for: local)
            let target = try LocalFile.openForWriting(partial, resume: resume)
            let attributes = try SFTPSession.read(remote, into: target, handles, progress: progress)
            try target.finish(renamingTo: local, modified: preserve ? attributes : nil)
        }
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

    private static func write(
        _ source: LocalFile, to remote: String, _ handles: SSHHandles, progress: TransferProgress?
    ) throws(SFTPError) {
        let flags = O_WRONLY | O_CREAT | O_TRUNC
        guard let file = sftp_open(handles.sftp, remote, flags, source.mode) else { throw handles.error("put", remote) }
        var closed = false
        defer { if !closed { sftp_close(file) } }
        var buffer = [UInt8](repeating: 0, count: writeChunk)
        var done: UInt64 = 0
        while true {
            let count = try source.read(into: &buffer)
            if count == 0 { break }
            let written = buffer.withUnsafeBytes { sftp_write(file, $0.baseAddress, count) }
            guard written == count else { throw handles.error("put", remote) }
            done += UInt64(count)
            progress?(done, source.size)
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

    /// Reads `remote` from `target.offset` to its end with `readWindow` requests in flight,
    /// appending to `target`. Returns the remote attributes.
    private static func read(
        _ remote: String, into target: LocalFile, _ handles: SSHHandles, progress: TransferProgress?
    ) throws(SFTPError) -> RemoteAttributes {
        guard let file = sftp_open(handles.sftp, remote, O_RDONLY, 0) else { throw handles.error("get", remote) }
        defer { sftp_close(file) }
        guard let stat = sftp_fstat(file) else { throw handles.error("get", remote) }
        let attributes = RemoteAttributes(stat, name: (remote as NSString).lastPathComponent)
        sftp_attributes_free(stat)
        var done = target.offset
        if done > attributes.size {
            throw .local(operation: "resume", path: target.path, reason: "the partial file is longer than '\(remote)'")
        }
        guard sftp_seek64(file, done) == SSH_OK else { throw handles.error("get", remote) }
        var pending: [Int32] = []
        var reachedEnd = false
        var buffer = [UInt8](repeating: 0, count: readChunk)
        var failure: SFTPError?
        while true {
            while !reachedEnd && pending.count < readWindow && failure == nil {
                let id = sftp_async_read_begin(file, UInt32(readChunk))
                guard id >= 0 else { failure = handles.error("get", remote); break }
                pending.append(id)
            }
            guard !pending.isEmpty else { break }
            let id = pending.removeFirst()
            // Every request id is consumed, even after EOF or an error (PLATFORM.md).
            let count = buffer.withUnsafeMutableBytes {
                sftp_async_read(file, $0.baseAddress, UInt32(readChunk), UInt32(id))
            }
            guard failure == nil else { continue }
            if count < 0 { failure = handles.error("get", remote); continue }
            if count == 0 { reachedEnd = true; continue }
            do throws(SFTPError) { try target.write(buffer, count: Int(count)) } catch { failure = error; continue }
            done += UInt64(count)
            progress?(done, attributes.size)
            if Int(count) < readChunk { reachedEnd = true }
        }
        if let failure { throw failure }
        guard done == attributes.size else {
            throw .remote(operation: "get", path: remote, reason: "got \(done) of \(attributes.size) bytes")
        }
        return attributes
    }
}
