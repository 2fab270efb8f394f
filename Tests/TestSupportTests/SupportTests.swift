import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized)
struct MissingBinaryTests {
    @Test func locatorNamesTheInstallCommand() throws {
        let empty = try TemporaryDirectory()
        #expect(
            throws: TestServerError.missingBinary(name: "nats-server", installCommand: "apt-get install nats-server")
        ) {
            try BinaryLocator.locate("nats-server", searchPath: [empty.path])
        }
        let error = TestServerError.missingBinary(name: "nats-server", installCommand: "apt-get install nats-server")
        #expect(error.description == "nats-server not found; install it with: apt-get install nats-server")
    }

    @Test func serversFailWithTheInstallCommand() async throws {
        let empty = try TemporaryDirectory()
        let nats = await #expect(throws: TestServerError.self) {
            try await NATSTestServer.start(searchPath: [empty.path])
        }
        #expect(nats?.description == "nats-server not found; install it with: apt-get install nats-server")
        let sshd = await #expect(throws: TestServerError.self) {
            try await withSSHServer(searchPath: [empty.path]) { _ in }
        }
        #expect(
            sshd?.description == "sshd not found; install it with: apt-get install openssh-server openssh-sftp-server")
        #expect(
            throws: TestServerError.missingBinary(name: "ssh-keygen", installCommand: "apt-get install openssh-client")
        ) {
            try BinaryLocator.locate("ssh-keygen", searchPath: [empty.path])
        }
    }
}

@Suite(.serialized)
struct ChildProcessTests {
    @Test func temporaryDirectoryIsPrivateAndRemoved() throws {
        var path = ""
        do {
            let directory = try TemporaryDirectory()
            path = directory.path
            #expect(path.split(separator: "/").last?.hasPrefix("cp-test-") == true)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        }
        #expect(!directoryExists(path))
    }

    @Test func outputGoesToFilesAndDescriptorsAreNotLeaked() async throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)  // deliberately without O_CLOEXEC
        defer { close(fds[0]); close(fds[1]) }
        let directory = try TemporaryDirectory()
        let script = "echo out; echo err >&2; for f in /proc/$$/fd/*; do echo fd ${f##*/}; done"
        let child = try await ChildProcess.spawn(
            "/bin/sh", ["-c", script], stdoutPath: directory.file("out"), stderrPath: directory.file("err"))
        #expect(try await child.waitForExit() == .exited(0))
        let out = try String(contentsOfFile: directory.file("out"), encoding: .utf8)
        #expect(out.hasPrefix("out\n"))
        #expect(!out.contains("fd \(fds[0])\n") && !out.contains("fd \(fds[1])\n"), "\(out)")
        #expect(try String(contentsOfFile: directory.file("err"), encoding: .utf8) == "err\n")
    }

    @Test func terminateFallsBackToSIGKILL() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.file("log")
        let child = try await ChildProcess.spawn(
            "/bin/sh", ["-c", "trap '' TERM; echo ready >&2; exec sleep 30"], stdoutPath: log, stderrPath: log)
        try await waitUntil(deadline: .seconds(10)) { readTail(of: log).contains("ready") }
        let error = await #expect(throws: TestServerError.self) {
            try await child.waitForExit(deadline: .milliseconds(100))
        }
        #expect(error?.description.contains("ready") == true)
        #expect(child.isRunning)
        #expect(try await child.terminate(grace: .milliseconds(300)) == .signaled(SIGKILL))
        try await expectProcessGone(child.pid)
    }

    @Test func terminateReportsSIGTERM() async throws {
        let directory = try TemporaryDirectory()
        let child = try await ChildProcess.spawn(
            "/bin/sleep", ["30"], stdoutPath: directory.file("log"), stderrPath: directory.file("log"))
        #expect(child.isRunning)
        #expect(try await child.terminate() == .signaled(SIGTERM))
        #expect(try await child.kill9() == .signaled(SIGTERM))  // already reaped: no new signal
        try await expectProcessGone(child.pid)
    }

    @Test func runProcessCapturesStatusAndOutput() async throws {
        let result = try await runProcess("/bin/sh", ["-c", "echo one; echo two >&2; exit 3"])
        #expect(result.status == 3)
        #expect(result.stdout == "one\n")
        #expect(result.stderr == "two\n")
        await #expect(throws: TestServerError.self) {
            try await runProcess("sleep", ["30"], deadline: .milliseconds(200))
        }
    }

    @Test func freePortsAndWaitUntil() async throws {
        let port = try freeLoopbackPort()
        #expect(port > 0)
        let error = await #expect(throws: TestServerError.self) {
            try await waitUntil(deadline: .milliseconds(50), "the impossible") { false }
        }
        #expect(error?.description.contains("the impossible") == true)
    }

    @Test func lineClientReadTimesOutAgainstASilentListener() async throws {
        let (fd, port) = try makeLoopbackListener()
        defer { close(fd) }
        let started = ContinuousClock.now
        // The kernel completes the handshake, but nobody ever writes: the read must time out.
        let error = await #expect(throws: TestServerError.self) {
            try await withTCPLineClient(port: port, deadline: .milliseconds(300)) { try $0.readLine() }
        }
        #expect(error?.description.contains("timed out") == true)
        #expect(ContinuousClock.now - started < .seconds(5))
    }
}
