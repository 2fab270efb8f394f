import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized)
struct NATSTestServerTests {
    @Test func startsAnswersPingAndStopsCleanly() async throws {
        let server = try await NATSTestServer.start()
        let pid = server.pid
        #expect(server.port > 0)
        #expect(server.url == "nats://127.0.0.1:\(server.port)")
        #expect(server.isRunning)
        try await server.ping()
        if let pidDirectory = ProcessInfo.processInfo.environment["CP_TEST_PIDDIR"], !pidDirectory.isEmpty {
            #expect(FileManager.default.fileExists(atPath: "\(pidDirectory)/\(pid)"))
        }
        try await server.stop()
        #expect(!server.isRunning)
        try await expectProcessGone(pid)
        await #expect(throws: TestServerError.self) { try await server.ping(deadline: .seconds(2)) }
        try await server.shutdown()
        #expect(!directoryExists(server.directory.path))
    }

    @Test func restartKeepsThePort() async throws {
        try await withNATSServer { server in
            try await server.ping()
            let port = server.port
            let oldPid = server.pid
            try await server.restart()
            #expect(server.port == port)
            #expect(server.pid != oldPid)
            try await expectProcessGone(oldPid)
            try await server.ping()
        }
    }

    @Test func restartAfterKill9KeepsTheJetStreamStore() async throws {
        try await withNATSServer(jetStream: true) { server in
            let created = try await jetStreamRequest(
                port: server.port, subject: "$JS.API.STREAM.CREATE.KEEP",
                payload: #"{"name":"KEEP","subjects":["keep.>"],"storage":"file"}"#)
            #expect(created.contains("stream_create_response") && !created.contains("\"error\""), "\(created)")
            let oldPid = server.pid
            try await server.kill9()
            try await expectProcessGone(oldPid)
            try await server.restart()
            let info = try await jetStreamRequest(port: server.port, subject: "$JS.API.STREAM.INFO.KEEP", payload: "")
            #expect(info.contains(#""name":"KEEP""#) && !info.contains("\"error\""), "\(info)")
            #expect(directoryExists(server.directory.file("jetstream")))
        }
    }

    @Test func restartRetriesWhileThePortIsBrieflyBusy() async throws {
        try await withNATSServer { server in
            try await server.kill9()
            // Hold the port so the first restart attempts fail to bind, then let it go.
            let (fd, _) = try makeLoopbackListener(port: server.port)
            let release = Task {
                try? await Task.sleep(for: .milliseconds(300))
                close(fd)
            }
            try await server.restart()
            await release.value
            try await server.ping()
            let log = try String(contentsOfFile: server.logPath, encoding: .utf8)
            #expect(log.contains("address already in use"), "\(log)")
        }
    }

    @Test func withNATSServerCleansUpWhenTheBodyThrows() async throws {
        var pid: pid_t = 0
        var path = ""
        await #expect(throws: DeliberateFailure.self) {
            try await withNATSServer { server in
                pid = server.pid
                path = server.directory.path
                try await server.ping()
                throw DeliberateFailure()
            }
        }
        #expect(pid > 0)
        try await expectProcessGone(pid)
        #expect(!directoryExists(path))
    }

    @Test func twoServersStartedConcurrentlyGetDifferentPorts() async throws {
        async let first = NATSTestServer.start()
        async let second = NATSTestServer.start()
        let (a, b) = try await (first, second)
        do {
            #expect(a.port != b.port)
            async let pingA: Void = a.ping()
            async let pingB: Void = b.ping()
            _ = try await (pingA, pingB)
        } catch {
            try? await a.shutdown()
            try? await b.shutdown()
            throw error
        }
        try await a.shutdown()
        try await b.shutdown()
        try await expectProcessGone(a.pid)
        try await expectProcessGone(b.pid)
    }

    @Test func portsFileParsing() {
        let sample = #"{"nats":["nats://127.0.0.1:43215"],"monitoring":[]}"#
        #expect(NATSTestServer.parsePortsFile(Data(sample.utf8)) == 43215)
        #expect(NATSTestServer.parsePortsFile(Data(#"{"nats":["#.utf8)) == nil)
    }
}

/// Sends one JetStream API request over a raw connection and returns the reply payload.
private func jetStreamRequest(port: UInt16, subject: String, payload: String) async throws -> String {
    try await withTCPLineClient(port: port) { client in
        let info = try client.readLine()
        guard info.hasPrefix("INFO ") else { throw TestServerError.unexpectedReply(what: "INFO", reply: info) }
        let length = payload.utf8.count
        try client.send("CONNECT {\"verbose\":false}\r\nSUB _INBOX.test 1\r\nPING\r\n")
        guard try client.readLine() == "PONG" else { throw TestServerError.unexpectedReply(what: "PONG", reply: "") }
        try client.send("PUB \(subject) _INBOX.test \(length)\r\n\(payload)\r\n")
        while true {
            let line = try client.readLine()
            if line == "PING" { try client.send("PONG\r\n"); continue }
            guard line.hasPrefix("MSG _INBOX.test 1 ") else { continue }
            return try client.readLine()
        }
    }
}
