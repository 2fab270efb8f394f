import CLibSSH
import Foundation

/// A remote file's attributes.
public struct RemoteAttributes: Sendable, Equatable {
    public let name: String
    public let size: UInt64
    /// The permission bits (and type bits, as the server sends them).
    public let permissions: UInt32
    /// Seconds since 1970.
    public let modified: UInt32
    public let isDirectory: Bool

    init(_ attributes: sftp_attributes, name: String? = nil) {
        self.name = name ?? attributes.pointee.name.map { String(cString: $0) } ?? ""
        size = attributes.pointee.size
        permissions = attributes.pointee.permissions
        modified = attributes.pointee.mtime
        isDirectory = attributes.pointee.type == UInt8(SSH_FILEXFER_TYPE_DIRECTORY)
    }
}

extension SFTPSession {
    /// The attributes of `path` (following symbolic links).
    public func stat(_ path: String) async throws(SFTPError) -> RemoteAttributes {
        try await run { (handles) throws(SFTPError) -> RemoteAttributes in
            guard let attributes = sftp_stat(handles.sftp, path) else { throw handles.error("stat", path) }
            defer { sftp_attributes_free(attributes) }
            return RemoteAttributes(attributes, name: (path as NSString).lastPathComponent)
        }
    }

    /// The entries of the directory `path`, sorted by name, without `.` and `..`.
    public func list(_ path: String) async throws(SFTPError) -> [RemoteAttributes] {
        try await run { (handles) throws(SFTPError) -> [RemoteAttributes] in
            guard let directory = sftp_opendir(handles.sftp, path) else { throw handles.error("list", path) }
            defer { sftp_closedir(directory) }
            var entries: [RemoteAttributes] = []
            while let attributes = sftp_readdir(handles.sftp, directory) {
                defer { sftp_attributes_free(attributes) }
                let entry = RemoteAttributes(attributes)
                if entry.name != "." && entry.name != ".." { entries.append(entry) }
            }
            guard sftp_dir_eof(directory) != 0 else { throw handles.error("list", path) }
            return entries.sorted { $0.name < $1.name }
        }
    }

    /// Makes the directory `path`; with `parents`, also its missing parents, and an existing
    /// directory is no error.
    public func makeDirectory(_ path: String, parents: Bool = false, mode: mode_t = 0o755) async throws(SFTPError) {
        try await run { (handles) throws(SFTPError) in
            let targets = parents ? SFTPSession.prefixes(of: path) : [path]
            for target in targets {
                if sftp_mkdir(handles.sftp, target, mode) == SSH_OK { continue }
                let existing = sftp_stat(handles.sftp, target)
                defer { if let existing { sftp_attributes_free(existing) } }
                let isDirectory = existing.map { $0.pointee.type == UInt8(SSH_FILEXFER_TYPE_DIRECTORY) } ?? false
                if parents && isDirectory { continue }
                if existing != nil {
                    throw SFTPError.remote(operation: "mkdir", path: target, reason: "already exists")
                }
                throw handles.error("mkdir", target)
            }
        }
    }

    /// Removes the file `path`.
    public func remove(_ path: String) async throws(SFTPError) {
        try await run { (handles) throws(SFTPError) in
            guard sftp_unlink(handles.sftp, path) == SSH_OK else { throw handles.error("rm", path) }
        }
    }

    /// Removes the empty directory `path`.
    public func removeDirectory(_ path: String) async throws(SFTPError) {
        try await run { (handles) throws(SFTPError) in
            guard sftp_rmdir(handles.sftp, path) == SSH_OK else { throw handles.error("rmdir", path) }
        }
    }

    /// Renames `path` to `newPath`, replacing `newPath` if it exists.
    public func rename(_ path: String, to newPath: String) async throws(SFTPError) {
        try await run { (handles) throws(SFTPError) in try SFTPSession.replace(newPath, with: path, handles) }
    }

    /// Renames `source` over `target`. SFTP version 3 (OpenSSH) refuses to rename onto an
    /// existing file, so an existing target is first moved aside and removed afterwards: the
    /// target is briefly absent but never half-written.
    static func replace(_ target: String, with source: String, _ handles: SSHHandles) throws(SFTPError) {
        if sftp_rename(handles.sftp, source, target) == SSH_OK { return }
        let existing = sftp_stat(handles.sftp, target)
        guard let existing else { throw handles.error("mv", source) }
        sftp_attributes_free(existing)
        let aside = target + ".cp-old-\(UInt32.random(in: 0...UInt32.max))"
        guard sftp_rename(handles.sftp, target, aside) == SSH_OK else { throw handles.error("mv", target) }
        guard sftp_rename(handles.sftp, source, target) == SSH_OK else {
            let error = handles.error("mv", source)
            _ = sftp_rename(handles.sftp, aside, target)
            throw error
        }
        _ = sftp_unlink(handles.sftp, aside)
    }

    /// `a`, `a/b`, `a/b/c` for `a/b/c` (and `/a`, `/a/b` for absolute paths).
    static func prefixes(of path: String) -> [String] {
        let absolute = path.hasPrefix("/")
        var current = ""
        return path.split(separator: "/").map { component in
            current += (current.isEmpty ? (absolute ? "/" : "") : "/") + component
            return current
        }
    }
}
