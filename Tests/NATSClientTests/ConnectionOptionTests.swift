import CPModel
import CPProtocol
import Foundation
import TestSupport
import Testing

@testable import NATSClient

@Suite(.serialized) struct NATSConnectionOptionTests {
    @Test func userAndPasswordInTheURL() async throws {
        try await withNATSServer(extraArguments: ["--user", "alice", "--pass", "s3cret"]) { server in
            var options = NATSOptions(urls: ["nats://alice:s3cret@127.0.0.1:\(server.port)"], name: "auth")
            let connection = try await NATSConnection.connect(options, logger: quiet)
            #expect(connection.isConnected)
            options.urls = ["nats://alice:wrong@127.0.0.1:\(server.port)"]
            do {
                _ = try await NATSConnection.connect(options, logger: quiet)
                Issue.record("a wrong password was accepted")
            } catch {
                #expect("\(error)".hasPrefix("cannot connect to NATS at nats://alice:wrong@127.0.0.1:\(server.port): "))
                #expect("\(error)".localizedCaseInsensitiveContains("authorization"))
            }
        }
    }

    @Test func aTokenInTheURL() async throws {
        try await withNATSServer(extraArguments: ["--auth", "t0ken"]) { server in
            let options = NATSOptions(urls: ["nats://t0ken@127.0.0.1:\(server.port)"], name: "token")
            let connection = try await NATSConnection.connect(options, logger: quiet)
            #expect(connection.isConnected)
        }
    }

    @Test func tlsWithACAFile() async throws {
        let certificates = try TemporaryDirectory()
        try await makeCertificates(in: certificates)
        let tls = ["--tls", "--tlscert", certificates.file("server.pem"), "--tlskey", certificates.file("server.key")]
        try await withNATSServer(extraArguments: tls) { server in
            var options = NATSOptions(urls: ["tls://127.0.0.1:\(server.port)"], name: "tls")
            options.caFile = certificates.file("ca.pem")
            let connection = try await NATSConnection.connect(options, logger: quiet)
            #expect(connection.isConnected)
            options.caFile = nil
            await #expect(throws: NATSError.self) { try await NATSConnection.connect(options, logger: quiet) }
        }
    }

    @Test func aMissingCredentialsFileIsNamed() async throws {
        try await withNATSServer { server in
            var options = NATSOptions(urls: [server.url], name: "creds")
            options.credentialsFile = "/nonexistent/user.creds"
            do {
                _ = try await NATSConnection.connect(options, logger: quiet)
                Issue.record("connected without the credentials file")
            } catch {
                #expect("\(error)".contains("'/nonexistent/user.creds'"))
            }
        }
    }

    @Test func nobodyListeningIsOneClearLine() async throws {
        let port = try freeLoopbackPort()
        var options = NATSOptions(urls: ["nats://127.0.0.1:\(port)"], name: "none")
        options.connectTimeout = .seconds(1)
        do {
            _ = try await NATSConnection.connect(options, logger: quiet)
            Issue.record("connected to nothing")
        } catch {
            #expect(error.description.hasPrefix("cannot connect to NATS at nats://127.0.0.1:\(port): "))
            #expect(!error.description.contains("\n"))
        }
    }

    /// A throwaway CA and a server certificate for 127.0.0.1, made with the openssl program.
    private func makeCertificates(in directory: TemporaryDirectory) async throws {
        let openssl = try BinaryLocator.locate("openssl")
        try directory.write("ext", "subjectAltName=IP:127.0.0.1\n")
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.file("ca.key"),
                "-out", directory.file("ca.pem"), "-days", "1", "-subj", "/CN=cp-test-ca",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.file("server.key"),
                "-out", directory.file("server.csr"), "-subj", "/CN=127.0.0.1",
            ],
            [
                "x509", "-req", "-in", directory.file("server.csr"), "-CA", directory.file("ca.pem"),
                "-CAkey", directory.file("ca.key"), "-CAcreateserial", "-out", directory.file("server.pem"),
                "-days", "1", "-extfile", directory.file("ext"),
            ],
        ]
        for step in steps {
            let result = try await runProcess(openssl, step)
            #expect(result.status == 0, "openssl \(step[0]): \(result.stderr)")
        }
    }
}

@Suite(.serialized) struct HeartbeatTests {
    @Test func heartbeatsCarryLoadJobsStartAndVersion() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let beats = try client.messages("heartbeat.test.t1", as: HeartbeatPayload.self)
            try await client.bulk.flush()
            let publisher = HeartbeatPublisher.start(client, interval: .milliseconds(100), version: "9.9") {
                .init(running: 1, capacity: 4)
            }
            defer { publisher.cancel() }
            let received = try await collect(2, from: beats).map(\.envelope)
            #expect(received.allSatisfy { $0.sender == testSender })
            let beat = received[1].payload
            #expect(beat.load.count == 3 && beat.load.allSatisfy { $0 >= 0 })
            #expect(beat.jobs == .init(running: 1, capacity: 4))
            #expect(beat.version == "9.9")
            let milliseconds = ISO8601DateFormatter()
            milliseconds.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            #expect(milliseconds.date(from: beat.startedAt) != nil, "\(beat.startedAt)")
            #expect(received[0].payload.startedAt == beat.startedAt)
        }
    }

    @Test func theNameIsEscapedInTheSubject() {
        #expect(Subjects.heartbeat(role: "chef", name: "pod.one") == "heartbeat.chef.pod%2Eone")
    }
}
