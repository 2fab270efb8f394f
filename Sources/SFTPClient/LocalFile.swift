import Foundation

/// A local file being read for an upload or written by a download, through POSIX calls whose
/// failures name the path and the reason.
final class LocalFile: @unchecked Sendable {
    let path: String
    let descriptor: Int32
    let size: UInt64
    let mode: mode_t
    let modified: Int
    /// Where writing starts: the size of a resumed partial file, otherwise 0.
    let offset: UInt64

    private init(path: String, descriptor: Int32, status: stat, offset: UInt64) {
        self.path = path
        self.descriptor = descriptor
        size = UInt64(status.st_size)
        mode = status.st_mode & 0o7777
        modified = status.st_mtim.tv_sec
        self.offset = offset
    }

    deinit { close(descriptor) }

    static func openForReading(_ path: String) throws(SFTPError) -> LocalFile {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("put", path) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw failure("put", path)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw .local(operation: "put", path: path, reason: "not a regular file (use -r for directories)")
        }
        return LocalFile(path: path, descriptor: descriptor, status: status, offset: 0)
    }

    /// Opens (creating or, unless resuming, truncating) the partial file `path`.
    static func openForWriting(_ path: String, resume: Bool) throws(SFTPError) -> LocalFile {
        // No O_APPEND: Linux appends even pwrite's writes to such a file.
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (resume ? 0 : O_TRUNC)
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw failure("get", path) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            close(descriptor)
            throw failure("get", path)
        }
        return LocalFile(path: path, descriptor: descriptor, status: status, offset: UInt64(status.st_size))
    }

    /// Reads up to `buffer.count` bytes at `offset` without moving the file position, so
    /// several writers can read their own ranges at once; 0 at the end.
    func read(into buffer: inout [UInt8], at offset: UInt64) throws(SFTPError) -> Int {
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            if count >= 0 { return count }
            if errno != EINTR { throw Self.failure("read", path) }
        }
    }

    /// Writes `bytes` at `offset` without moving the file position (ranged downloads).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(SFTPError) {
        var written = 0
        while written < bytes.count {
            let result = pwrite(
                descriptor, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if result < 0 {
                if errno == EINTR { continue }
                throw Self.failure("write", path)
            }
            written += result
        }
    }

    /// Flushes the partial file to disk and renames it over `target`; with `modified`, sets
    /// the target's mode and time from the remote attributes.
    func finish(renamingTo target: String, modified attributes: RemoteAttributes?) throws(SFTPError) {
        guard fsync(descriptor) == 0 else { throw Self.failure("write", path) }
        if let attributes {
            _ = fchmod(descriptor, mode_t(attributes.permissions & 0o7777))
            var times = [
                timespec(tv_sec: Int(attributes.modified), tv_nsec: 0),
                timespec(tv_sec: Int(attributes.modified), tv_nsec: 0),
            ]
            _ = futimens(descriptor, &times)
        }
        guard Glibc.rename(path, target) == 0 else { throw Self.failure("get", target) }
    }

    private static func failure(_ operation: String, _ path: String) -> SFTPError {
        .local(operation: operation, path: path, reason: String(cString: strerror(errno)))
    }
}
