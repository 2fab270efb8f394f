import Foundation
import SFTPClient

/// `cp sftp put` and `get`: files and, with `-r`, directory trees.
struct SFTPTransfers {
    let session: SFTPSession
    let parsed: ParsedCommand
    let output: TransferOutput

    /// `put LOCAL… REMOTE`: into REMOTE when it is a directory (or several files are sent).
    func put() async throws {
        let locals = parsed.positionalValues("LOCAL").compactMap(\.text)
        let target = try SFTPCommand.path(parsed.positional("REMOTE")?.text ?? "")
        let targetIsDirectory = (try? await session.stat(target).isDirectory) == true
        let intoDirectory = locals.count > 1 || target.hasSuffix("/") || targetIsDirectory
        if intoDirectory && !targetIsDirectory {
            throw SFTPError.remote(operation: "put", path: target, reason: Self.notADirectory(locals.count))
        }
        for local in locals {
            let name = (local as NSString).lastPathComponent
            let remote = intoDirectory ? join(target, name) : target
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory), isDirectory.boolValue {
                guard parsed.flag("recursive") else {
                    throw SFTPError.local(operation: "put", path: local, reason: "is a directory (use -r)")
                }
                try await putTree(local, to: remote)
            } else {
                try await putFile(local, to: remote)
            }
        }
    }

    /// `get REMOTE… LOCAL`: into LOCAL when it is a directory (or several files are fetched).
    func get() async throws {
        let remotes = try parsed.positionalValues("REMOTE").compactMap(\.text).map { try SFTPCommand.path($0) }
        let target = parsed.positional("LOCAL")?.text ?? "."
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory)
        let intoDirectory = remotes.count > 1 || target.hasSuffix("/") || (exists && isDirectory.boolValue)
        if intoDirectory && !(exists && isDirectory.boolValue) {
            throw SFTPError.local(operation: "get", path: target, reason: Self.notADirectory(remotes.count))
        }
        for remote in remotes {
            let local = intoDirectory ? join(target, (remote as NSString).lastPathComponent) : target
            if try await remoteIsDirectory(remote) {
                guard parsed.flag("recursive") else {
                    throw SFTPError.remote(operation: "get", path: remote, reason: "is a directory (use -r)")
                }
                try await getTree(remote, to: local)
            } else {
                try await getFile(remote, to: local)
            }
        }
    }

    /// Whether `remote` is a directory; a failure is reported as the `get` it is part of.
    private func remoteIsDirectory(_ remote: String) async throws -> Bool {
        do {
            return try await session.stat(remote).isDirectory
        } catch SFTPError.remote(_, let path, let reason) {
            throw SFTPError.remote(operation: "get", path: path, reason: reason)
        }
    }

    private func putFile(_ local: String, to remote: String) async throws {
        let line = output.progress(for: (local as NSString).lastPathComponent)
        try await session.upload(local, to: remote, preserve: parsed.flag("preserve"), progress: line.update)
        line.finish()
    }

    private func getFile(_ remote: String, to local: String) async throws {
        let line = output.progress(for: (remote as NSString).lastPathComponent)
        try await session.download(
            remote, to: local, resume: parsed.flag("resume"), preserve: parsed.flag("preserve"), progress: line.update)
        line.finish()
    }

    private func putTree(_ local: String, to remote: String) async throws {
        try await session.makeDirectory(remote, parents: true)
        let entries = try FileManager.default.contentsOfDirectory(atPath: local).sorted()
        for entry in entries {
            let path = join(local, entry)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                try await putTree(path, to: join(remote, entry))
            } else {
                try await putFile(path, to: join(remote, entry))
            }
        }
    }

    private func getTree(_ remote: String, to local: String) async throws {
        do {
            try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        } catch {
            throw SFTPError.local(operation: "mkdir", path: local, reason: "cannot create it")
        }
        for entry in try await session.list(remote) {
            if entry.isDirectory {
                try await getTree(join(remote, entry.name), to: join(local, entry.name))
            } else {
                try await getFile(join(remote, entry.name), to: join(local, entry.name))
            }
        }
    }

    /// Why a target that must be a directory will not do.
    private static func notADirectory(_ sources: Int) -> String {
        sources > 1 ? "not an existing directory (\(sources) files need one to go into)" : "not an existing directory"
    }

    private func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
