import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized)
struct SSHTestServerTests {
    @Test func acceptsTheClientKeyRefusesOthersAndStops() async throws {
        let server = try await SSHTestServer.start()
        let pid = server.pid
        let ssh = try BinaryLocator.locate("ssh")
        do {
            let ok = try await server.run(ssh, server.sshCommandArguments(["true"]))
            #expect(ok.status == 0, "ssh true failed: \(ok.stderr)\nsshd log:\n\(server.logTail())")
            let hello = try await server.run(ssh, server.sshCommandArguments(["echo", "hello"]))
            #expect(hello.status == 0)
            #expect(hello.stdout == "hello\n")

            let otherKey = server.directory.file("other_key")
            _ = try await SSHTestServer.generateKey(at: otherKey)
            let refused = try await server.runSSH(["true"], identity: otherKey)
            #expect(refused.status != 0)
        } catch {
            try? await server.shutdown()
            throw error
        }
        try await server.stop()
        #expect(!server.isRunning)
        try await expectProcessGone(pid)
        try await server.shutdown()
    }

    @Test func filesHaveTheExpectedShape() async throws {
        try await withSSHServer { server in
            #expect(server.host == "127.0.0.1")
            #expect(server.hostPublicKey.hasPrefix("ssh-ed25519 AAAA"))
            let knownHosts = try String(contentsOfFile: server.knownHostsPath, encoding: .utf8)
            #expect(knownHosts == "[127.0.0.1]:\(server.port) \(server.hostPublicKey)\n")
            let attributes = try FileManager.default.attributesOfItem(atPath: server.clientKeyPath)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let name = getpwuid(geteuid()).flatMap { $0.pointee.pw_name }.map { String(cString: $0) }
            #expect(server.user == name)
        }
    }

    @Test func sftpSubsystemWorks() async throws {
        try await withSSHServer { server in
            let batch = server.directory.file("batch")
            try "pwd\n".write(toFile: batch, atomically: true, encoding: .utf8)
            var arguments = server.sshCommandArguments([])
            // sftp spells the port option -P and wants the destination last.
            if let portIndex = arguments.firstIndex(of: "-p") { arguments[portIndex] = "-P" }
            let destination = arguments.removeLast()
            let result = try await server.run("sftp", ["-b", batch] + arguments + [destination])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("Remote working directory"))
        }
    }

    @Test func withSSHServerCleansUpWhenTheBodyThrows() async throws {
        var pid: pid_t = 0
        var path = ""
        await #expect(throws: DeliberateFailure.self) {
            try await withSSHServer { server in
                pid = server.pid
                path = server.directory.path
                throw DeliberateFailure()
            }
        }
        #expect(pid > 0)
        try await expectProcessGone(pid)
        #expect(!directoryExists(path))
    }
}
