import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `nats-server` on a free 127.0.0.1 port, in its own temporary directory: the
/// product's `NATSServerProcess`, with a directory that is removed on `shutdown()` and errors
/// in `TestServerError`'s terms. Stop it with `stop()` or use `withNATSServer`; `deinit`
/// SIGKILLs a server that is still running.
public final class NATSTestServer: Sendable {
    /// Holds the log, the ports files and (with JetStream) the store in `jetstream/`.
    public let directory: TemporaryDirectory
    public let jetStream: Bool
    /// More command-line arguments for nats-server (authentication, TLS).
    public let extraArguments: [String]
    public let server: NATSServerProcess

    private init(directory: TemporaryDirectory, jetStream: Bool, extraArguments: [String], server: NATSServerProcess) {
        self.directory = directory
        self.jetStream = jetStream
        self.extraArguments = extraArguments
        self.server = server
    }

    /// Absolute path of the nats-server binary in use.
    public var executable: String { server.executable }
    /// The client port; it stays the same across `restart()`.
    public var port: UInt16 { server.port }
    /// `nats://127.0.0.1:PORT`.
    public var url: String { server.url }
    /// Pid of the current (or most recent) server process.
    public var pid: pid_t { server.pid }
    public var isRunning: Bool { server.isRunning }
    /// The server's own log file (`-l`).
    public var logPath: String { server.logPath }
    /// `nats-leaf://127.0.0.1:PORT` of a hub (started with `hub: true`).
    public var leafURL: String? { server.leafURL }

    /// Starts a server and waits until it answers.
    /// - Parameters:
    ///   - jetStream: enable JetStream with a private store in `directory/jetstream`.
    ///   - domain: the JetStream domain, if any.
    ///   - hub: listen for leaf nodes on a free loopback port (`leafURL`).
    ///   - leafOf: be a leaf node of these hubs' `leafURL`s.
    ///   - extraArguments: more nats-server arguments, such as `--user`, `--pass`, `--tls…`.
    ///   - searchPath: where to look for `nats-server`; `nil` means `BinaryLocator.defaultSearchPath`.
    ///   - deadline: how long startup may take.
    /// - Throws: `.missingBinary` if nats-server is not installed, `.timeout`, `.exitedEarly`.
    public static func start(
        jetStream: Bool = false, domain: String? = nil, hub: Bool = false, leafOf: [String] = [],
        extraArguments: [String] = [], searchPath: [String]? = nil, deadline: Duration = .seconds(20)
    ) async throws -> NATSTestServer {
        let directory = try TemporaryDirectory()
        var options = NATSServerProcess.Options(directory: directory.path)
        options.jetStream = jetStream
        options.domain = domain
        options.leafListen = hub ? "127.0.0.1:0" : nil
        options.leafRemotes = leafOf
        options.extraArguments = extraArguments
        options.searchPath = searchPath
        options.pidDirectory = ChildProcess.testPidDirectory
        do {
            let server = try await NATSServerProcess.start(options, deadline: deadline)
            return NATSTestServer(
                directory: directory, jetStream: jetStream, extraArguments: extraArguments, server: server)
        } catch {
            directory.remove()
            throw TestServerError(error)
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; waits until the process is reaped.
    /// (nats-server exits with status 1 on SIGTERM; that is normal.)
    public func stop(grace: Duration = .seconds(10)) async throws {
        await server.stop(grace: grace)
    }

    /// SIGKILLs the server (no clean shutdown, like a crash) and reaps it.
    public func kill9() async throws { await server.kill9() }

    /// Stops the server and deletes its directory. Used by `withNATSServer`.
    public func shutdown() async throws {
        defer { directory.remove() }
        try await stop()
    }

    /// Stops the server if it runs, then starts it again on the same port with the same
    /// JetStream store, and waits until it answers PING.
    public func restart(deadline: Duration = .seconds(20)) async throws {
        do {
            try await server.restart(deadline: deadline)
        } catch {
            throw TestServerError(error)
        }
    }

    /// Does the NATS handshake over a raw socket up to PONG.
    /// - Throws: `.timeout` (with the server log) if no PONG arrives within `deadline`.
    public func ping(deadline: Duration = .seconds(10)) async throws {
        do {
            try await server.ping(deadline: deadline)
        } catch {
            throw TestServerError(error)
        }
    }

    /// The end of the server log, plus anything it wrote to stdout/stderr.
    public func logTail(maxBytes: Int = 4096) -> String { server.logTail(maxBytes: maxBytes) }

    /// Extracts the port from `{"nats": ["nats://127.0.0.1:PORT"], ...}`; `nil` while the
    /// file is incomplete.
    public static func parsePortsFile(_ data: Data) -> UInt16? { NATSServerProcess.parsePortsFile(data) }
}
