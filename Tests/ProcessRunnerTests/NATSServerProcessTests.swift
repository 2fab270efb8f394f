import Foundation
import ProcessRunner
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The private nats-server that `cp up` and the tests start.
@Suite(.serialized) struct NATSServerProcessTests {
    @Test func startsOnAFreePortWithJetStreamAndADomainAndStopsCleanly() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = NATSServerProcess.Options(directory: directory.path)
        options.jetStream = true
        options.domain = "hub"
        let server = try await NATSServerProcess.start(options)
        let pid = server.pid
        #expect(server.port > 0 && server.url == "nats://127.0.0.1:\(server.port)")
        #expect(server.isRunning && Subprocess.unreaped.contains(pid))
        // JetStream answers, in its domain, and keeps its store where it was told.
        let info = try await jetStreamInfo(port: server.port)
        #expect(info.contains(#""domain":"hub""#) && !info.contains(#""error""#), "\(info)")
        #expect(FileManager.default.fileExists(atPath: directory.file("jetstream")))
        await server.stop()
        #expect(!server.isRunning && !Subprocess.unreaped.contains(pid))
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
        await #expect(throws: ProcessError.self) { try await server.ping(deadline: .milliseconds(500)) }
    }

    @Test func twoServersGetTwoPorts() async throws {
        let first = try TemporaryDirectory(), second = try TemporaryDirectory()
        defer { first.remove(); second.remove() }
        async let a = NATSServerProcess.start(.init(directory: first.path))
        async let b = NATSServerProcess.start(.init(directory: second.path))
        let (one, two) = try await (a, b)
        #expect(one.port != two.port)
        try await one.ping()
        try await two.ping()
        await one.stop()
        await two.stop()
    }

    @Test func aMissingBinaryIsNamedWithItsInstallCommand() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = NATSServerProcess.Options(directory: directory.path)
        options.searchPath = [directory.path]
        let error = await #expect(throws: ProcessError.self) { try await NATSServerProcess.start(options) }
        #expect(error == .missingProgram(name: "nats-server", install: "apt-get install nats-server"))
        #expect(error?.description == "nats-server not found; install it with: apt-get install nats-server")
    }

    @Test func aServerThatCannotStartSaysWhy() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var options = NATSServerProcess.Options(directory: directory.path)
        options.extraArguments = ["--no-such-flag"]
        let error = await #expect(throws: ProcessError.self) { try await NATSServerProcess.start(options) }
        guard case .exitedEarly(let what, _, let log)? = error else {
            Issue.record("expected exitedEarly, got \(String(describing: error))")
            return
        }
        #expect(what == "nats-server" && log.contains("no-such-flag"), "\(log)")
    }

    /// `$JS.API.INFO` over a raw connection: the account's JetStream information.
    func jetStreamInfo(port: UInt16) async throws -> String {
        try await withTCPLineClient(port: port) { client in
            _ = try client.readLine()  // INFO
            try client.send(
                "CONNECT {\"verbose\":false}\r\nSUB _INBOX.info 1\r\nPUB $JS.API.INFO _INBOX.info 0\r\n\r\n")
            while true {
                let line = try client.readLine()
                if line == "PING" { try client.send("PONG\r\n") }
                if line.hasPrefix("MSG _INBOX.info 1 ") { return try client.readLine() }
            }
        }
    }
}

/// Children started beside this process.
@Suite(.serialized) struct SubprocessTests {
    @Test func terminateStopsTheWholeGroupAndReapsIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var spec = ProcessSpec("/bin/sh", ["-c", "sleep 60 & echo $! > child; echo started; wait"])
        spec.directory = directory.path
        spec.stdout = .file(directory.file("out"))
        spec.pidDirectory = directory.file("pids")
        let process = try await Subprocess.start(spec)
        try await waitUntil(deadline: .seconds(10), "the child to start") {
            readTail(of: directory.file("out")).contains("started")
        }
        #expect(FileManager.default.fileExists(atPath: directory.file("pids/\(process.pid)")))
        let grandchild = try #require(
            pid_t(readTail(of: directory.file("child")).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(await process.terminate(grace: .seconds(5)) == .signaled(SIGTERM))
        try await waitUntil(deadline: .seconds(10), "the background sleep to end") {
            kill(grandchild, 0) == -1 && errno == ESRCH
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("pids/\(process.pid)")))
        #expect(!Subprocess.unreaped.contains(process.pid))
    }

    @Test func aProgramThatIsNotThereIsNamed() async throws {
        let error = await #expect(throws: ProcessError.self) {
            try await Subprocess.start(ProcessSpec("/no/such/program-cp"))
        }
        #expect(error?.description.hasPrefix("cannot start '/no/such/program-cp'") == true)
    }
}
