import Foundation
import SFTPClient

/// `cp sftp`: a thin applet over the SFTPClient library (issue 4).
enum SFTPCommand {
    /// Connects to the one host the command's remote paths name, runs `body` with the session
    /// and closes it, whatever happens.
    static func withSession(
        _ invocation: Invocation, _ body: (SFTPSession, [String]) async throws -> Void
    ) async throws -> ExitStatus {
        let remotes = invocation.parsed.positionalValues("REMOTE").compactMap(\.text)
        let hosts = Set(
            try remotes.map { remote in
                let address = try SFTPAddress.parse(remote)
                return "\(address.user ?? "")@\(address.knownHostsName)"
            })
        guard hosts.count <= 1 else {
            throw SFTPError.badAddress(remotes.joined(separator: " "), reason: "one command talks to one host")
        }
        let session = try await connect(to: remotes.first ?? "", invocation)
        do {
            try await body(session, remotes)
        } catch {
            await session.close()
            throw error
        }
        await session.close()
        return .success
    }

    @Sendable static func list(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, remotes in
            try await printListing(session, path(remotes[0]), long: invocation.parsed.flag("long"))
        }
    }

    @Sendable static func stat(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, remotes in
            Output.out(describe(try await session.stat(try path(remotes[0]))))
        }
    }

    @Sendable static func makeDirectory(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, remotes in
            try await session.makeDirectory(try path(remotes[0]), parents: invocation.parsed.flag("parents"))
        }
    }

    @Sendable static func remove(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, remotes in
            for remote in remotes { try await session.remove(try path(remote)) }
        }
    }

    @Sendable static func removeDirectory(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, remotes in
            for remote in remotes { try await session.removeDirectory(try path(remote)) }
        }
    }

    @Sendable static func rename(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, remotes in
            let target = invocation.parsed.positional("NEWPATH")?.text ?? ""
            let newPath = SFTPAddress.looksRemote(target) ? try SFTPAddress.parse(target).path : target
            try await session.rename(try path(remotes[0]), to: newPath)
        }
    }

    @Sendable static func put(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, _ in
            let output = TransferOutput(quiet: invocation.parsed.flag("quiet"))
            try await SFTPTransfers(session: session, parsed: invocation.parsed, output: output).put()
        }
    }

    @Sendable static func get(_ invocation: Invocation) async throws -> ExitStatus {
        try await withSession(invocation) { session, _ in
            let output = TransferOutput(quiet: invocation.parsed.flag("quiet"))
            try await SFTPTransfers(session: session, parsed: invocation.parsed, output: output).get()
        }
    }

    /// One session to the host of `remote`, with the trust and key settings of the command.
    static func connect(to remote: String, _ invocation: Invocation) async throws -> SFTPSession {
        let settings = invocation.settings
        var options = try options(settings)
        options.acceptNew = settings.flag("accept-new")
        if let timeout = settings.value("connect-timeout")?.duration { options.connectTimeout = timeout }
        return try await SFTPSession.connect(try SFTPAddress.parse(remote), options: options)
    }

    /// The key and the known hosts of `CommonOptions.ssh`.
    static func options(_ settings: ResolvedSettings) throws -> SFTPOptions {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        var options = SFTPOptions(knownHosts: settings.value("known-hosts")?.text ?? home + "/.ssh/known_hosts")
        options.identity = settings.value("identity")?.text
        if let file = settings.value("passphrase-file")?.text {
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                options.passphrase = text.hasSuffix("\n") ? String(text.dropLast()) : text
            } catch {
                throw SFTPError.local(operation: "read the passphrase from", path: file, reason: "cannot read it")
            }
        }
        return options
    }

    static func path(_ remote: String) throws -> String {
        let path = try SFTPAddress.parse(remote).path
        return path.isEmpty ? "." : path
    }

    private static func printListing(_ session: SFTPSession, _ path: String, long: Bool) async throws {
        let attributes = try await session.stat(path)
        let entries = attributes.isDirectory ? try await session.list(path) : [attributes]
        let lines = entries.map { entry in
            guard long else { return entry.name }
            let size = String(entry.size)
            let padded = String(repeating: " ", count: max(0, 12 - size.count)) + size
            return "\(modeString(entry))  \(padded)  \(timeString(entry.modified))  \(entry.name)"
        }
        Output.out(lines.map { $0 + "\n" }.joined())
    }

    static func describe(_ entry: RemoteAttributes) -> String {
        """
        name: \(entry.name)
        type: \(entry.isDirectory ? "directory" : "file")
        size: \(entry.size)
        mode: \(String(format: "%04o", entry.permissions & 0o7777))
        modified: \(timeString(entry.modified))

        """
    }

    /// `drwxr-xr-x` from the permission bits.
    static func modeString(_ entry: RemoteAttributes) -> String {
        let bits: [(UInt32, Character)] = [
            (0o400, "r"), (0o200, "w"), (0o100, "x"), (0o40, "r"), (0o20, "w"), (0o10, "x"),
            (0o4, "r"), (0o2, "w"), (0o1, "x"),
        ]
        return (entry.isDirectory ? "d" : "-") + String(bits.map { entry.permissions & $0.0 != 0 ? $0.1 : "-" })
    }

    static func timeString(_ seconds: UInt32) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
