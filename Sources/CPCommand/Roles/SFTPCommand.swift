import Foundation
import SFTPClient

/// `cp sftp`: a thin applet over the SFTPClient library (issue 4).
enum SFTPCommand {
    @Sendable static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let parsed = invocation.parsed
        let verb = parsed.path.last ?? ""
        let remotes = parsed.positionalValues("REMOTE").compactMap(\.text)
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
            try await perform(verb, parsed, remotes, session)
        } catch {
            await session.close()
            throw error
        }
        await session.close()
        return .success
    }

    private static func perform(
        _ verb: String, _ parsed: ParsedCommand, _ remotes: [String], _ session: SFTPSession
    ) async throws {
        let output = TransferOutput(quiet: parsed.flag("quiet"))
        switch verb {
        case "ls": try await list(session, path(remotes[0]), long: parsed.flag("long"))
        case "stat": Output.out(describe(try await session.stat(try path(remotes[0]))))
        case "mkdir": try await session.makeDirectory(try path(remotes[0]), parents: parsed.flag("parents"))
        case "rm": for remote in remotes { try await session.remove(try path(remote)) }
        case "rmdir": for remote in remotes { try await session.removeDirectory(try path(remote)) }
        case "mv":
            let target = parsed.positional("NEWPATH")?.text ?? ""
            let newPath = SFTPAddress.looksRemote(target) ? try SFTPAddress.parse(target).path : target
            try await session.rename(try path(remotes[0]), to: newPath)
        case "put": try await SFTPTransfers(session: session, parsed: parsed, output: output).put()
        default: try await SFTPTransfers(session: session, parsed: parsed, output: output).get()
        }
    }

    /// One session to the host of `remote`, with the trust and key settings of the command.
    static func connect(to remote: String, _ invocation: Invocation) async throws -> SFTPSession {
        let settings = invocation.settings
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        var options = SFTPOptions(knownHosts: settings.value("known-hosts")?.text ?? home + "/.ssh/known_hosts")
        options.identity = settings.value("identity")?.text
        options.acceptNew = settings.flag("accept-new")
        if let timeout = settings.value("connect-timeout")?.duration { options.connectTimeout = timeout }
        if let file = settings.value("passphrase-file")?.text {
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                options.passphrase = text.hasSuffix("\n") ? String(text.dropLast()) : text
            } catch {
                throw SFTPError.local(operation: "read the passphrase from", path: file, reason: "cannot read it")
            }
        }
        return try await SFTPSession.connect(try SFTPAddress.parse(remote), options: options)
    }

    static func path(_ remote: String) throws -> String {
        let path = try SFTPAddress.parse(remote).path
        return path.isEmpty ? "." : path
    }

    private static func list(_ session: SFTPSession, _ path: String, long: Bool) async throws {
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
