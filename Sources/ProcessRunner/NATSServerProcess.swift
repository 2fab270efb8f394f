import CPModel
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A private `nats-server` on loopback (PLATFORM.md): a free port chosen by the server itself
/// and read back from its ports file (so two servers started at once never race for a port),
/// JetStream with a store of its own (and a domain, for leaf nodes), its log in a file. It is
/// ready when `start` returns (it has answered a PING), and it ends with this process.
public final class NATSServerProcess: Sendable {
    public struct Options: Sendable {
        /// Holds the log, the ports file, the configuration and (by default) the store.
        public var directory: String
        /// Enable JetStream.
        public var jetStream = false
        /// The JetStream store; nil: `directory/jetstream`.
        public var storeDirectory: String?
        /// The JetStream domain, which clients of leaf nodes name to reach this server's streams.
        public var domain: String?
        /// Accept leaf nodes on this loopback-or-not `HOST:PORT` (port 0: a free one, read back
        /// as `leafPort`): the hub of a federation (DESIGN §3).
        public var leafListen: String?
        /// Be a leaf node of these hubs (`nats-leaf://HOST:PORT`).
        public var leafRemotes: [String] = []
        /// More nats-server arguments (authentication, TLS).
        public var extraArguments: [String] = []
        /// Where to look for `nats-server`; nil: `Executables.defaultSearchPath`.
        public var searchPath: [String]?
        /// Passed on to the child (`ProcessSpec.pidDirectory`).
        public var pidDirectory: String?

        public init(directory: String) { self.directory = directory }

        /// The store's directory.
        public var store: String { storeDirectory ?? directory + "/jetstream" }
    }

    public let options: Options
    /// The absolute path of the server binary.
    public let executable: String
    /// The client port; it stays the same across `restart()`.
    public let port: UInt16
    /// The port leaf nodes connect to (with `leafListen`); it stays the same across `restart()`.
    public let leafPort: UInt16?
    private let current: Mutex<Subprocess>

    private init(options: Options, executable: String, process: Subprocess, port: UInt16, leafPort: UInt16?) {
        self.options = options
        self.executable = executable
        self.port = port
        self.leafPort = leafPort
        self.current = Mutex(process)
    }

    /// `nats-leaf://HOST:PORT` for leaf nodes' `remotes`, with `leafListen`.
    public var leafURL: String? {
        guard let leafPort, let listen = options.leafListen, let colon = listen.lastIndex(of: ":") else { return nil }
        return "nats-leaf://\(listen[..<colon]):\(leafPort)"
    }

    /// `nats://127.0.0.1:PORT`.
    public var url: String { "nats://127.0.0.1:\(port)" }
    /// The pid of the current (or last) server process.
    public var pid: pid_t { process.pid }
    public var isRunning: Bool { process.isRunning }
    /// The server's own log (`-l`).
    public var logPath: String { options.directory + "/nats.log" }
    private var process: Subprocess { current.withLock { $0 } }

    /// Starts a server and waits until it has reported its port and answered a PING;
    /// `.missingProgram` names the package to install.
    public static func start(_ options: Options, deadline: Duration = .seconds(20)) async throws(ProcessError)
        -> NATSServerProcess
    {
        let executable = try Executables.locate("nats-server", searchPath: options.searchPath)
        try? FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
        let end = ContinuousClock.now + deadline
        let process = try await launch(executable, options, port: nil, leafPort: nil)
        do {
            let ports = try await readPorts(of: process, options, until: end)
            let server = NATSServerProcess(
                options: options, executable: executable, process: process, port: ports.client, leafPort: ports.leaf)
            try await server.waitForPing(until: end)
            return server
        } catch {
            await process.kill9()
            throw error
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once the process is reaped. (nats-server
    /// exits with status 1 on SIGTERM; that is normal.)
    public func stop(grace: Duration = .seconds(10)) async {
        await process.terminate(signal: SIGTERM, grace: grace)
    }

    /// SIGKILLs the server (no clean shutdown, as in a crash) and reaps it.
    public func kill9() async { await process.kill9() }

    /// Starts the server again on the same port with the same store (stopping it first if it
    /// runs), and waits until it answers. Binding is retried: the old socket may briefly hold
    /// the port.
    public func restart(deadline: Duration = .seconds(20)) async throws(ProcessError) {
        if isRunning { await stop() }
        let end = ContinuousClock.now + deadline
        var lastLog = ""
        for attempt in 1...5 {
            let candidate = try await Self.launch(executable, options, port: port, leafPort: leafPort)
            current.withLock { $0 = candidate }
            do throws(ProcessError) {
                let reported = try await Self.readPorts(of: candidate, options, until: end).client
                guard reported == port else {
                    throw ProcessError.unexpectedReply(what: "restarting on port \(port)", reply: "port \(reported)")
                }
                try await waitForPing(until: end)
                return
            } catch .exitedEarly(_, _, let log) {
                lastLog = log
                guard ContinuousClock.now < end else { break }
                await pause(.milliseconds(100 * attempt))
            }
        }
        throw .timeout(what: "nats-server to restart on port \(port) (tried 5 times)", log: lastLog)
    }

    /// Does the NATS handshake over a socket of its own: reads `INFO`, sends `CONNECT` and
    /// `PING`, waits for `PONG`.
    public func ping(deadline: Duration = .seconds(10)) async throws(ProcessError) {
        let port = port
        let answered = await blockingCall("nats-ping") { () throws(Never) -> Bool in
            natsHandshake(port: port, deadline: ContinuousClock.now + deadline)
        }
        guard answered else { throw .timeout(what: "PONG from nats-server on port \(port)", log: logTail()) }
    }

    /// The end of the server's log and of what it wrote to stdout and stderr.
    public func logTail(maxBytes: Int = 4096) -> String {
        [readTail(of: logPath, maxBytes: maxBytes), process.logTail(maxBytes: maxBytes)].filter { !$0.isEmpty }
            .joined(separator: "\n")
    }

    private func waitForPing(until end: ContinuousClock.Instant) async throws(ProcessError) {
        while true {
            do throws(ProcessError) {
                try await ping(deadline: max(end - .now, .milliseconds(500)))
                return
            } catch {
                if let status = process.exitStatus {
                    throw .exitedEarly(what: "nats-server", status: status, log: logTail())
                }
                guard ContinuousClock.now < end else { throw error }
                await pause(.milliseconds(20))
            }
        }
    }

    /// The command line: loopback only, the given or a free port, the ports file and the log
    /// in the directory, and JetStream and leaf nodes through a configuration file (neither
    /// the domain nor leaf nodes have a flag). `leafPort`: the one to listen on again.
    static func arguments(_ options: Options, port: UInt16?, leafPort: UInt16? = nil) throws(ProcessError)
        -> [String]
    {
        var arguments = [
            "-a", "127.0.0.1", "-p", port.map(String.init) ?? "-1",
            "--ports_file_dir", options.directory, "-l", options.directory + "/nats.log",
        ]
        var configuration = ""
        if options.jetStream {
            configuration += "jetstream {\n  store_dir: \(quoted(options.store))\n"
            if let domain = options.domain { configuration += "  domain: \(quoted(domain))\n" }
            configuration += "}\n"
        }
        if let listen = options.leafListen, let colon = listen.lastIndex(of: ":") {
            let chosen = leafPort.map(String.init) ?? (listen[listen.index(after: colon)...] == "0" ? "-1" : nil)
            let address = chosen.map { listen[..<colon] + ":" + $0 } ?? listen
            configuration += "leafnodes {\n  listen: \(quoted(address))\n}\n"
        }
        if !options.leafRemotes.isEmpty {
            let remotes = options.leafRemotes.map { "{ url: \(quoted($0)) }" }.joined(separator: ", ")
            configuration += "leafnodes {\n  remotes: [ \(remotes) ]\n}\n"
        }
        if !configuration.isEmpty {
            let path = options.directory + "/nats-server.conf"
            do {
                try configuration.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw .cannotStart(program: "nats-server", errno: errno)
            }
            arguments += ["-c", path]
        }
        return arguments + options.extraArguments
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func launch(_ executable: String, _ options: Options, port: UInt16?, leafPort: UInt16?)
        async throws(ProcessError) -> Subprocess
    {
        var spec = ProcessSpec(executable, try arguments(options, port: port, leafPort: leafPort))
        spec.stdout = .file(options.directory + "/nats-server.out")
        spec.stderr = .stdout
        spec.endsWithParent = true
        spec.pidDirectory = options.pidDirectory
        return try await Subprocess.start(spec)
    }

    /// Polls for `nats-server_<pid>.ports`, which the server writes once it listens: the
    /// client port, and, when it listens for leaf nodes, that port from its log (2.9's ports
    /// file leaves it out).
    private static func readPorts(of process: Subprocess, _ options: Options, until end: ContinuousClock.Instant)
        async throws(ProcessError) -> (client: UInt16, leaf: UInt16?)
    {
        let path = options.directory + "/nats-server_\(process.pid).ports"
        let log = { readTail(of: options.directory + "/nats.log") + process.logTail() }
        while true {
            if let data = FileManager.default.contents(atPath: path), let port = parsePortsFile(data) {
                guard options.leafListen != nil else { return (port, nil) }
                if let leaf = leafPort(inLog: readTail(of: options.directory + "/nats.log", maxBytes: 65_536)) {
                    return (port, leaf)
                }
            }
            if let status = process.exitStatus { throw .exitedEarly(what: "nats-server", status: status, log: log()) }
            if ContinuousClock.now >= end { throw .timeout(what: "nats-server's ports file \(path)", log: log()) }
            await pause(.milliseconds(5))
        }
    }

    /// The port of the server's last "Listening for leafnode connections on HOST:PORT" line.
    static func leafPort(inLog log: String) -> UInt16? {
        guard let range = log.range(of: "Listening for leafnode connections on ", options: .backwards) else {
            return nil
        }
        let address = log[range.upperBound...].prefix { !$0.isWhitespace }
        return address.split(separator: ":").last.flatMap { UInt16($0) }
    }

    /// The port of `{"nats": ["nats://127.0.0.1:PORT"], ...}`; nil while the file is incomplete.
    public static func parsePortsFile(_ data: Data) -> UInt16? {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let urls = object["nats"] as? [String],
            let url = urls.first(where: { $0.hasPrefix("nats://") || $0.hasPrefix("tls://") }),
            let portText = url.split(separator: ":").last
        else { return nil }
        return UInt16(portText)
    }
}

/// The client side of the NATS handshake up to the first PONG, on a blocking socket with every
/// wait bounded by `deadline`. True when the server answered: a PONG, or a refusal of our
/// anonymous CONNECT (a server with authentication), or a demand for TLS.
private func natsHandshake(port: UInt16, deadline: ContinuousClock.Instant) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return false }
    var received: [UInt8] = []
    var sentConnect = false
    var buffer = [UInt8](repeating: 0, count: 4096)
    while ContinuousClock.now < deadline {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let left = (deadline - ContinuousClock.now).nanoseconds / 1_000_000
        guard poll(&descriptor, 1, Int32(clamping: max(1, left))) > 0 else { continue }
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return false }
        received += buffer[0..<count]
        let text = String(decoding: received, as: UTF8.self)
        if !sentConnect, text.hasPrefix("INFO "), text.contains("\r\n") {
            // A server that wants TLS or credentials first is up all the same.
            if text.contains("\"tls_required\":true") { return true }
            let hello = Array("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPING\r\n".utf8)
            guard write(fd, hello, hello.count) == hello.count else { return false }
            sentConnect = true
        }
        if sentConnect, text.contains("PONG\r\n") || text.contains("-ERR ") { return true }
    }
    return false
}
