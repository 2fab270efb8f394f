import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `nats-server` on a free 127.0.0.1 port, in its own temporary directory.
///
/// The port is chosen by the server itself (`-p -1`) and read back from its ports file, so
/// two servers started at once can never race for the same port. Stop it with `stop()`
/// or use `withNATSServer`; `deinit` SIGKILLs a server that is still running.
public final class NATSTestServer: @unchecked Sendable {
    /// Holds the log, the ports files and (with JetStream) the store in `jetstream/`.
    public let directory: TemporaryDirectory
    public let jetStream: Bool
    /// More command-line arguments for nats-server (authentication, TLS).
    public let extraArguments: [String]
    /// Absolute path of the nats-server binary in use.
    public let executable: String

    private let lock = NSLock()
    private var process: ChildProcess
    private let fixedPort: UInt16

    private init(
        directory: TemporaryDirectory, jetStream: Bool, extraArguments: [String], executable: String,
        process: ChildProcess, port: UInt16
    ) {
        self.directory = directory
        self.jetStream = jetStream
        self.extraArguments = extraArguments
        self.executable = executable
        self.process = process
        self.fixedPort = port
    }

    /// The client port; it stays the same across `restart()`.
    public var port: UInt16 { fixedPort }
    /// `nats://127.0.0.1:PORT`.
    public var url: String { "nats://127.0.0.1:\(port)" }
    /// Pid of the current (or most recent) server process.
    public var pid: pid_t { currentProcess.pid }
    public var isRunning: Bool { currentProcess.isRunning }
    /// The server's own log file (`-l`).
    public var logPath: String { directory.file("nats.log") }

    private var currentProcess: ChildProcess {
        lock.lock()
        defer { lock.unlock() }
        return process
    }

    /// Starts a server and waits until it has reported its port.
    /// - Parameters:
    ///   - jetStream: enable JetStream with a private store in `directory/jetstream`.
    ///   - extraArguments: more nats-server arguments, such as `--user`, `--pass`, `--tls…`.
    ///   - searchPath: where to look for `nats-server`; `nil` means `BinaryLocator.defaultSearchPath`.
    ///   - deadline: how long startup may take.
    /// - Throws: `.missingBinary` if nats-server is not installed, `.timeout`, `.exitedEarly`.
    public static func start(
        jetStream: Bool = false, extraArguments: [String] = [], searchPath: [String]? = nil,
        deadline: Duration = .seconds(20)
    ) async throws -> NATSTestServer {
        let executable = try BinaryLocator.locate("nats-server", searchPath: searchPath)
        let directory = try TemporaryDirectory()
        let arguments = serverArguments(directory: directory, jetStream: jetStream, port: nil) + extraArguments
        let process = try await launch(executable, arguments, directory: directory)
        do {
            let port = try await readPort(of: process, directory: directory, deadline: deadline)
            return NATSTestServer(
                directory: directory, jetStream: jetStream, extraArguments: extraArguments,
                executable: executable, process: process, port: port)
        } catch {
            _ = try? await process.kill9()
            directory.remove()
            throw error
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; waits until the process is reaped.
    /// (nats-server exits with status 1 on SIGTERM; that is normal.)
    public func stop(grace: Duration = .seconds(10)) async throws {
        try await currentProcess.terminate(signal: SIGTERM, grace: grace)
    }

    /// SIGKILLs the server (no clean shutdown, like a crash) and reaps it.
    public func kill9() async throws {
        try await currentProcess.kill9()
    }

    /// Stops the server and deletes its directory. Used by `withNATSServer`.
    public func shutdown() async throws {
        defer { directory.remove() }
        try await stop()
    }

    /// Stops the server if it runs, then starts it again on the same port with the same
    /// JetStream store, and waits until it answers PING. Binding is retried a few times
    /// because the old socket may briefly hold the port.
    public func restart(deadline: Duration = .seconds(20)) async throws {
        if isRunning { try await stop() }
        let end = ContinuousClock.now + deadline
        let arguments = Self.serverArguments(directory: directory, jetStream: jetStream, port: port) + extraArguments
        let attempts = 5
        var lastLog = ""
        for attempt in 1...attempts {
            let candidate = try await Self.launch(executable, arguments, directory: directory)
            setProcess(candidate)
            do {
                let reported = try await Self.readPort(of: candidate, directory: directory, deadline: end - .now)
                guard reported == port else {
                    throw TestServerError.unexpectedReply(what: "restarting on port \(port)", reply: "port \(reported)")
                }
                try await waitForPing(until: end)
                return
            } catch TestServerError.exitedEarly(_, _, let logTail) {
                lastLog = logTail
                guard attempt < attempts, ContinuousClock.now < end else { break }
                await pause(.milliseconds(100 * attempt))
            }
        }
        throw TestServerError.retriesExhausted(
            what: "restarting nats-server on port \(port)", attempts: attempts, logTail: lastLog)
    }

    private func setProcess(_ newProcess: ChildProcess) {
        lock.lock()
        process = newProcess
        lock.unlock()
    }

    /// Pings until the server answers, so callers can connect as soon as this returns.
    private func waitForPing(until end: ContinuousClock.Instant) async throws {
        while true {
            do {
                try await ping(deadline: max(end - .now, .milliseconds(500)))
                return
            } catch is TestServerError {
                if let status = currentProcess.exitStatus {
                    throw TestServerError.exitedEarly(what: "nats-server", status: status, logTail: logTail())
                }
                guard ContinuousClock.now < end else {
                    throw TestServerError.timeout(
                        what: "nats-server to accept connections on port \(port)", logTail: logTail())
                }
                await pause(.milliseconds(20))
            }
        }
    }

    /// Does the NATS handshake over a raw socket: read `INFO`, send `CONNECT` and `PING`,
    /// and wait for `PONG`.
    /// - Throws: `.timeout` (with the server log) if no PONG arrives within `deadline`.
    public func ping(deadline: Duration = .seconds(10)) async throws {
        do {
            try await withTCPLineClient(port: port, deadline: deadline) { try natsHandshake($0) }
        } catch TestServerError.timeout {
            throw TestServerError.timeout(what: "PONG from nats-server on port \(port)", logTail: logTail())
        }
    }

    /// The end of the server log, plus anything it wrote to stdout/stderr.
    public func logTail(maxBytes: Int = 4096) -> String {
        let log = readTail(of: logPath, maxBytes: maxBytes)
        let output = currentProcess.outputTail(maxBytes: maxBytes)
        return output.isEmpty ? log : "\(log)\n[stdout/stderr]\n\(output)"
    }

    deinit {
        // ChildProcess.deinit would also do this; being explicit keeps the guarantee local.
        process.send(signal: SIGKILL)
    }

    static func serverArguments(directory: TemporaryDirectory, jetStream: Bool, port: UInt16?) -> [String] {
        var arguments = [
            "-a", "127.0.0.1", "-p", port.map(String.init) ?? "-1",
            "--ports_file_dir", directory.path, "-l", directory.file("nats.log"),
        ]
        if jetStream { arguments += ["-js", "-sd", directory.file("jetstream")] }
        return arguments
    }

    static func launch(_ executable: String, _ arguments: [String], directory: TemporaryDirectory) async throws
        -> ChildProcess
    {
        let output = directory.file("nats-server.out")
        return try await ChildProcess.spawn(executable, arguments, stdoutPath: output, stderrPath: output)
    }

    /// Polls for `nats-server_<pid>.ports`, which the server writes once it listens.
    static func readPort(of process: ChildProcess, directory: TemporaryDirectory, deadline: Duration) async throws
        -> UInt16
    {
        let path = directory.file("nats-server_\(process.pid).ports")
        let end = ContinuousClock.now + deadline
        while true {
            if let data = FileManager.default.contents(atPath: path), !data.isEmpty {
                if let port = parsePortsFile(data) { return port }
                if ContinuousClock.now >= end {
                    throw TestServerError.invalidPortsFile(path: path, contents: String(decoding: data, as: UTF8.self))
                }
            }
            if let status = process.exitStatus {
                let tail = readTail(of: directory.file("nats.log")) + process.outputTail()
                throw TestServerError.exitedEarly(what: "nats-server", status: status, logTail: tail)
            }
            if ContinuousClock.now >= end {
                let tail = readTail(of: directory.file("nats.log")) + process.outputTail()
                throw TestServerError.timeout(what: "nats-server ports file \(path)", logTail: tail)
            }
            await pause(.milliseconds(10))
        }
    }

    /// Extracts the port from `{"nats": ["nats://127.0.0.1:PORT"], ...}`; `nil` while the
    /// file is incomplete.
    public static func parsePortsFile(_ data: Data) -> UInt16? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let urls = object["nats"] as? [String],
            let url = urls.first(where: { $0.hasPrefix("nats://") || $0.hasPrefix("tls://") }),
            let portText = url.split(separator: ":").last
        else { return nil }
        return UInt16(portText)
    }
}

/// Client side of the NATS handshake up to the first PONG.
private func natsHandshake(_ client: TCPLineClient) throws {
    let info = try client.readLine()
    guard info.hasPrefix("INFO ") else {
        throw TestServerError.unexpectedReply(what: "waiting for NATS INFO", reply: info)
    }
    try client.send("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n")
    while true {
        let line = try client.readLine()
        if line == "PONG" { return }
        if line == "PING" { try client.send("PONG\r\n"); continue }
        if line == "+OK" || line.isEmpty || line.hasPrefix("INFO ") { continue }
        throw TestServerError.unexpectedReply(what: "waiting for NATS PONG", reply: line)
    }
}
