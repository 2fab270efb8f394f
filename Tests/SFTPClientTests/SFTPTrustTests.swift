import Foundation
import TestSupport
import Testing

@testable import SFTPClient

@Suite(.serialized) struct SFTPTrustTests {
    @Test func anUnknownHostIsRefusedWithItsFingerprintThenAcceptedWithAcceptNew() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            var options = trusted(server)
            options.knownHosts = scratch.file("ssh/known_hosts")
            do {
                _ = try await SFTPSession.connect(address(server), options: options)
                Issue.record("an unknown host was trusted")
            } catch let error as SFTPError {
                guard case .unknownHost(let host, let fingerprint, _) = error else { throw error }
                #expect(host == "[127.0.0.1]:\(server.port)")
                #expect(fingerprint.hasPrefix("SHA256:"))
                #expect(error.description.contains("--accept-new"))
                #expect(error.description.contains("ssh-keyscan -p \(server.port) 127.0.0.1 >> \(options.knownHosts)"))
            }
            #expect(!FileManager.default.fileExists(atPath: options.knownHosts))
            options.acceptNew = true
            _ = try await SFTPSession.connect(address(server), options: options)
            let recorded = try String(contentsOfFile: options.knownHosts, encoding: .utf8)
            #expect(recorded.contains("[127.0.0.1]:\(server.port)"))
            options.acceptNew = false
            _ = try await SFTPSession.connect(address(server), options: options)  // now known
        }
    }

    @Test func aChangedHostKeyIsAlwaysRefused() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let otherKey = try await SSHTestServer.generateKey(at: scratch.file("other_host_key"))
            try scratch.write("known_hosts", "[127.0.0.1]:\(server.port) \(otherKey)\n")
            var options = trusted(server)
            options.knownHosts = scratch.file("known_hosts")
            options.acceptNew = true
            do {
                _ = try await SFTPSession.connect(address(server), options: options)
                Issue.record("a changed host key was accepted")
            } catch let error as SFTPError {
                guard case .hostKeyChanged = error else { throw error }
                #expect(error.description.hasPrefix("REFUSED: the host key of [127.0.0.1]:\(server.port) has CHANGED"))
            }
        }
    }

    @Test func aWrongKeyIsRefused() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            _ = try await SSHTestServer.generateKey(at: scratch.file("stranger"))
            var options = trusted(server)
            options.identity = scratch.file("stranger")
            await #expect(
                throws: SFTPError.authentication(
                    user: server.user, host: "[127.0.0.1]:\(server.port)",
                    reason: "the key '\(scratch.file("stranger"))' was refused")
            ) {
                _ = try await SFTPSession.connect(address(server), options: options)
            }
            options.identity = scratch.file("missing")
            await #expect(throws: SFTPError.self) {
                _ = try await SFTPSession.connect(address(server), options: options)
            }
        }
    }

    @Test func aRefusedConnectionIsOneLine() async throws {
        let port = try freeLoopbackPort()
        let options = SFTPOptions(knownHosts: "/dev/null")
        do {
            _ = try await SFTPSession.connect(
                SFTPAddress(host: "127.0.0.1", port: Int(port), path: ""), options: options)
            Issue.record("connected to nothing")
        } catch {
            #expect(error.description.hasPrefix("cannot connect to [127.0.0.1]:\(port): "))
            #expect(!error.description.contains("\n"))
        }
    }
}

@Suite(.serialized) struct SFTPFileOperationTests {
    @Test func directoriesFilesAndErrors() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            try await session.makeDirectory(scratch.file("a/b/c"), parents: true)
            try await session.makeDirectory(scratch.file("a/b/c"), parents: true)  // exists: fine with -p
            await #expect(
                throws: SFTPError.remote(operation: "mkdir", path: scratch.file("a"), reason: "already exists")
            ) {
                try await session.makeDirectory(scratch.file("a"))
            }
            try scratch.write("a/file.txt", "one")
            try scratch.write("a/other.txt", "two")
            #expect(try await session.list(scratch.file("a")).map(\.name) == ["b", "file.txt", "other.txt"])
            #expect(try await session.stat(scratch.file("a/b")).isDirectory)
            try await session.rename(scratch.file("a/file.txt"), to: scratch.file("a/other.txt"))
            #expect(try String(contentsOfFile: scratch.file("a/other.txt"), encoding: .utf8) == "one")
            try await session.remove(scratch.file("a/other.txt"))
            try await session.removeDirectory(scratch.file("a/b/c"))
            #expect(try await session.list(scratch.file("a/b")).isEmpty)
            await #expect(
                throws: SFTPError.remote(
                    operation: "stat", path: scratch.file("nope"), reason: "no such file or directory")
            ) {
                try await session.stat(scratch.file("nope"))
            }
            await #expect(throws: SFTPError.self) { try await session.removeDirectory(scratch.file("a")) }  // not empty
            await #expect(
                throws: SFTPError.remote(
                    operation: "get", path: scratch.file("nope"), reason: "no such file or directory")
            ) {
                try await session.download(scratch.file("nope"), to: scratch.file("local"))
            }
        }
    }
}

@Suite struct SFTPAddressTests {
    @Test func addressesParseLikeScpWithAnOptionalPort() throws {
        #expect(try SFTPAddress.parse("pod2:/srv/out") == SFTPAddress(host: "pod2", path: "/srv/out"))
        #expect(
            try SFTPAddress.parse("me@pod2:2222:dir/f")
                == SFTPAddress(user: "me", host: "pod2", port: 2222, path: "dir/f"))
        #expect(try SFTPAddress.parse("[::1]:2200:/x") == SFTPAddress(host: "::1", port: 2200, path: "/x"))
        #expect(try SFTPAddress.parse("host:") == SFTPAddress(host: "host", path: ""))
        #expect(try SFTPAddress.parse("h:12ab:/x") == SFTPAddress(host: "h", path: "12ab:/x"))
        #expect(SFTPAddress(host: "h", port: 2222, path: "").knownHostsName == "[h]:2222")
        #expect(
            SFTPAddress.looksRemote("pod:/x") && !SFTPAddress.looksRemote("./a:b") && !SFTPAddress.looksRemote("file"))
    }

    @Test func badAddressesSayWhy() {
        #expect(throws: SFTPError.badAddress("nocolon", reason: "expected [USER@]HOST[:PORT]:PATH")) {
            try SFTPAddress.parse("nocolon")
        }
        #expect(throws: SFTPError.badAddress("h:70000:/x", reason: "port 70000 is not in 1…65535")) {
            try SFTPAddress.parse("h:70000:/x")
        }
        #expect(throws: SFTPError.badAddress("[::1:/x", reason: "no ']' after the IPv6 host")) {
            try SFTPAddress.parse("[::1:/x")
        }
    }
}

@Suite(.serialized) struct SFTPFailureTests {
    @Test func aDroppedUploadLeavesNoTarget() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let big = scratch.file("big.bin")
            #expect(FileManager.default.createFile(atPath: big, contents: nil))
            #expect(truncate(big, off_t(512 * 1024 * 1024)) == 0)
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            let progress = ProgressLog()
            let target = scratch.file("uploaded.bin")
            let upload = Task { try await session.upload(big, to: target) { done, _ in progress.record(done) } }
            try await waitUntil(deadline: .seconds(60), "the upload is under way") { progress.latest > 1024 * 1024 }
            try await server.kill9()
            let result = await upload.result
            #expect(throws: SFTPError.self) { try result.get() }
            #expect(!FileManager.default.fileExists(atPath: target))
        }
    }

    @Test func aKeyWithAPassphraseNeedsIt() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let keygen = try BinaryLocator.locate("ssh-keygen")
            let made = try await runProcess(
                keygen, ["-q", "-t", "ed25519", "-N", "open sesame", "-f", scratch.file("locked")])
            #expect(made.status == 0)
            let publicKey = try String(contentsOfFile: scratch.file("locked.pub"), encoding: .utf8)
            let handle = try #require(FileHandle(forWritingAtPath: server.directory.file("authorized_keys")))
            handle.seekToEndOfFile()
            handle.write(Data(publicKey.utf8))
            try handle.close()
            var options = trusted(server)
            options.identity = scratch.file("locked")
            options.passphrase = "wrong"
            do {
                _ = try await SFTPSession.connect(address(server), options: options)
                Issue.record("a wrong passphrase opened the key")
            } catch {
                #expect("\(error)".contains("wrong passphrase"))
            }
            options.passphrase = "open sesame"
            let session = try await SFTPSession.connect(address(server), options: options)
            #expect(try await session.stat("/").isDirectory)
            await session.close()
        }
    }

    @Test func writingWhereNobodyMayIsRefusedWithTheReason() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let source = try scratch.write("f.txt", "x")
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            do {
                try await session.upload(source, to: "/proc/cp-test-not-allowed")
                Issue.record("wrote into /proc")
            } catch {
                guard case .remote(let operation, let path, let reason)? = error as? SFTPError else { throw error }
                #expect(operation == "put")
                #expect(path == "/proc/cp-test-not-allowed")  // the target, not the temporary name
                #expect(["permission denied", "no such file or directory"].contains(reason), "\(reason)")
            }
            await session.close()
        }
    }
}
