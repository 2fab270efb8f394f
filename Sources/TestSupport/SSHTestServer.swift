import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real OpenSSH `sshd` (with the internal SFTP subsystem) on a free 127.0.0.1 port, in
/// its own temporary directory with freshly generated ed25519 host and client keys.
///
/// It accepts only the client key, for the current user. Stop it with `stop()` or use
/// `withSSHServer`; `deinit` SIGKILLs a server that is still running.
public final class SSHTestServer: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let port: UInt16
    public let host = "127.0.0.1"
    /// Name of the effective user, the only account tests can log in as.
    public let user: String
    /// Private key (mode 0600) listed in the server's authorized_keys.
    public let clientKeyPath: String
    /// The host key as `ssh-ed25519 AAAA…` (no comment).
    public let hostPublicKey: String
    /// Holds `[127.0.0.1]:PORT <hostPublicKey>`.
    public let knownHostsPath: String
    /// sshd's stderr (`-e`), the only place it logs.
    public let logPath: String
    private let process: ChildProcess

    private init(
        directory: TemporaryDirectory, port: UInt16, user: String, clientKeyPath: String,
        hostPublicKey: String, knownHostsPath: String, process: ChildProcess
    ) {
        self.directory = directory
        self.port = port
        self.user = user
        self.clientKeyPath = clientKeyPath
        self.hostPublicKey = hostPublicKey
        self.knownHostsPath = knownHostsPath
        self.logPath = process.stderrPath
        self.process = process
    }

    public var pid: pid_t { process.pid }
    public var isRunning: Bool { process.isRunning }

    /// Generates keys, starts sshd and waits for "Server listening on".
    /// sshd cannot bind port 0, so a probed free port may be stolen before sshd binds it;
    /// startup is retried on a new port up to 5 times.
    /// - Parameters:
    ///   - searchPath: where to look for `sshd` and `ssh-keygen`; `nil` means the default.
    ///   - fileSizeLimit: if set, no file the server writes may grow past this many bytes
    ///     (`ulimit -f`, with SIGXFSZ ignored so a write fails instead of killing the session):
    ///     a full disk as SFTP clients see it, without mounting a small filesystem.
    ///   - deadline: how long each startup attempt may take.
    public static func start(
        searchPath: [String]? = nil, fileSizeLimit: Int? = nil, deadline: Duration = .seconds(20)
    ) async throws -> SSHTestServer {
        let sshd = try BinaryLocator.locate("sshd", searchPath: searchPath)
        _ = try BinaryLocator.locate("ssh-keygen", searchPath: searchPath)
        let user = try currentUserName()
        let directory = try TemporaryDirectory()
        do {
            let hostKey = directory.file("ssh_host_ed25519_key")
            let hostPublicKey = try await generateKey(at: hostKey, comment: "cp-test-host", searchPath: searchPath)
            let clientKey = directory.file("id_ed25519")
            let clientPublicKey = try await generateKey(
                at: clientKey, comment: "cp-test-client", searchPath: searchPath)
            try writeFile(directory.file("authorized_keys"), clientPublicKey + "\n")
            // Root's sshd refuses to start without its privilege-separation directory, and
            // nothing creates it when no init system runs. Failure shows up in sshd's log.
            mkdir("/run/sshd", 0o755)
            let (process, port) = try await launch(
                sshd, directory: directory, hostKey: hostKey, fileSizeLimit: fileSizeLimit, deadline: deadline)
            let knownHosts = directory.file("known_hosts")
            try writeFile(knownHosts, "[127.0.0.1]:\(port) \(hostPublicKey)\n")
            return SSHTestServer(
                directory: directory, port: port, user: user, clientKeyPath: clientKey,
                hostPublicKey: hostPublicKey, knownHostsPath: knownHosts, process: process)
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Creates an ed25519 key pair without passphrase at `path` (private, mode 0600) and
    /// `path.pub`, and returns the public key as `ssh-ed25519 AAAA…`.
    public static func generateKey(at path: String, comment: String = "cp-test", searchPath: [String]? = nil)
        async throws -> String
    {
        let keygen = try BinaryLocator.locate("ssh-keygen", searchPath: searchPath)
        let arguments = ["-q", "-N", "", "-t", "ed25519", "-C", comment, "-f", path]
        let result = try await runProcess(keygen, arguments)
        guard result.status == 0 else {
            throw TestServerError.commandFailed(
                command: ([keygen] + arguments).joined(separator: " "),
                status: .exited(result.status), stderr: result.stderr + result.stdout)
        }
        guard chmod(path, 0o600) == 0 else { throw TestServerError.systemCall(call: "chmod(\(path))", errno: errno) }
        let publicLine = (try? String(contentsOfFile: path + ".pub", encoding: .utf8)) ?? ""
        let fields = publicLine.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2 else {
            throw TestServerError.unexpectedReply(what: "reading \(path).pub", reply: publicLine)
        }
        return "\(fields[0]) \(fields[1])"
    }

    /// Arguments (without the program) for `/usr/bin/ssh` that log in with the client key,
    /// trust only this server's host key and ignore every user and system ssh config.
    /// - Parameter identity: a different private key, e.g. to test that it is refused.
    public func sshCommandArguments(_ remoteCommand: [String], identity: String? = nil) -> [String] {
        [
            "-F", "/dev/null", "-i", identity ?? clientKeyPath, "-p", String(port),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=\(knownHostsPath)", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            "\(user)@\(host)",
        ] + remoteCommand
    }

    /// Runs `ssh` (found with `BinaryLocator`) with `sshCommandArguments`.
    public func runSSH(
        _ remoteCommand: [String], identity: String? = nil, deadline: Duration = .seconds(20)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await runProcess("ssh", sshCommandArguments(remoteCommand, identity: identity), deadline: deadline)
    }

    /// Runs any program to completion; see `runProcess`.
    public func run(
        _ executable: String, _ arguments: [String], deadline: Duration = .seconds(20)
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await runProcess(executable, arguments, deadline: deadline)
    }

    /// Lets connections that are closing finish (up to 2 s), SIGKILLs any that remain (sshd
    /// leaves per-connection processes running when the listener exits), then sends
    /// SIGTERM to the listener, SIGKILL after `grace`, and waits until it is reaped.
    public func stop(grace: Duration = .seconds(10)) async throws {
        let end = ContinuousClock.now + .seconds(2)
        while process.isRunning, !descendantPids(of: pid).isEmpty, ContinuousClock.now < end {
            await pause(.milliseconds(10))
        }
        let sessions = process.isRunning ? descendantPids(of: pid) : []
        killAll(sessions)
        // While the listener lives it reaps its own children, so none is left a zombie.
        await waitUntilGone(sessions, deadline: .seconds(5))
        try await process.terminate(signal: SIGTERM, grace: grace)
    }

    /// SIGKILLs sshd and its per-connection processes (like a crash, minus the orphans)
    /// and reaps the listener.
    public func kill9() async throws {
        let sessions = process.isRunning ? descendantPids(of: pid) : []
        try await process.kill9()
        killAll(sessions)
    }

    /// Stops sshd and deletes its directory. Used by `withSSHServer`.
    public func shutdown() async throws {
        defer { directory.remove() }
        try await stop()
    }

    /// The end of sshd's log.
    public func logTail(maxBytes: Int = 4096) -> String {
        process.outputTail(maxBytes: maxBytes)
    }

    deinit {
        if process.isRunning { killAll(descendantPids(of: process.pid)) }
        process.send(signal: SIGKILL)
    }

    /// Starts sshd on probed ports until one attempt reports "Server listening on".
    private static func launch(
        _ sshd: String, directory: TemporaryDirectory, hostKey: String, fileSizeLimit: Int?, deadline: Duration
    ) async throws -> (ChildProcess, UInt16) {
        let attempts = 5
        var lastLog = ""
        for attempt in 1...attempts {
            let port = try freeLoopbackPort()
            let log = directory.file("sshd-\(attempt).log")
            let arguments = sshdArguments(port: port, directory: directory, hostKey: hostKey)
            let process: ChildProcess
            if let fileSizeLimit {  // ulimit -f counts 512-byte blocks; exec keeps the pid
                let script = "trap '' XFSZ; ulimit -f \((fileSizeLimit + 511) / 512); exec \"$@\""
                process = try await ChildProcess.spawn(
                    "/bin/sh", ["-c", script, "sh", sshd] + arguments, stdoutPath: log, stderrPath: log)
            } else {
                process = try await ChildProcess.spawn(sshd, arguments, stdoutPath: log, stderrPath: log)
            }
            if try await waitUntilListening(process, deadline: deadline) { return (process, port) }
            lastLog = process.outputTail()
            _ = try? await process.kill9()
        }
        throw TestServerError.retriesExhausted(what: "starting sshd", attempts: attempts, logTail: lastLog)
    }

    /// True once sshd listens; false if it exited or could not bind (worth a retry).
    private static func waitUntilListening(_ process: ChildProcess, deadline: Duration) async throws -> Bool {
        let end = ContinuousClock.now + deadline
        while true {
            let log = readTail(of: process.stderrPath, maxBytes: 16_384)
            if log.contains("Server listening on") { return true }
            if log.contains("Cannot bind any address") || !process.isRunning { return false }
            if ContinuousClock.now >= end {
                _ = try? await process.kill9()
                throw TestServerError.timeout(
                    what: "sshd to log \"Server listening on\"", logTail: process.outputTail())
            }
            await pause(.milliseconds(10))
        }
    }

    static func sshdArguments(port: UInt16, directory: TemporaryDirectory, hostKey: String) -> [String] {
        [
            "-D", "-e", "-f", "/dev/null", "-p", String(port),
            "-o", "ListenAddress=127.0.0.1", "-o", "HostKey=\(hostKey)",
            "-o", "AuthorizedKeysFile=\(directory.file("authorized_keys"))",
            "-o", "StrictModes=no", "-o", "UsePAM=no", "-o", "PidFile=none",
            "-o", "Subsystem=sftp internal-sftp",
            "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
            "-o", "PermitRootLogin=prohibit-password",
        ]
    }

    private static func currentUserName() throws -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else {
            throw TestServerError.systemCall(call: "getpwuid(\(geteuid()))", errno: errno)
        }
        return String(cString: name)
    }

    private static func writeFile(_ path: String, _ text: String) throws {
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw TestServerError.systemCall(call: "create \(path)", errno: errno)
        }
    }
}
