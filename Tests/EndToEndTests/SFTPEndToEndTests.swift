import Foundation
import TestSupport
import Testing

/// `cp sftp` with the test server's key and known_hosts.
func cpSFTP(_ server: SSHTestServer, _ arguments: [String], knownHosts: String? = nil) async throws
    -> (status: Int32, stdout: String, stderr: String)
{
    let verb = arguments.first ?? ""
    let common = ["-i", server.clientKeyPath, "--known-hosts", knownHosts ?? server.knownHostsPath]
    return try await cp(["sftp"] + common + [verb] + arguments.dropFirst())
}

func remote(_ server: SSHTestServer, _ path: String) -> String { "\(server.user)@127.0.0.1:\(server.port):\(path)" }

@Suite(.serialized) struct SFTPEndToEndTests {
    @Test func putGetListStatAndTheRest() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            try scratch.write("notes.txt", "hello over sftp\n")
            let put = try await cpSFTP(
                server, ["put", scratch.file("notes.txt"), remote(server, scratch.file("up.txt"))])
            #expect(put.status == 0 && put.stderr.isEmpty, "\(put.stderr)")
            #expect(try String(contentsOfFile: scratch.file("up.txt"), encoding: .utf8) == "hello over sftp\n")
            let get = try await cpSFTP(
                server, ["get", remote(server, scratch.file("up.txt")), scratch.file("down.txt")])
            #expect(get.status == 0)
            #expect(try String(contentsOfFile: scratch.file("down.txt"), encoding: .utf8) == "hello over sftp\n")
            #expect(try await cpSFTP(server, ["mkdir", "-p", remote(server, scratch.file("d/e"))]).status == 0)
            let list = try await cpSFTP(server, ["ls", remote(server, scratch.path)])
            #expect(list.stdout == "d\ndown.txt\nnotes.txt\nup.txt\n")
            let long = try await cpSFTP(server, ["ls", "-l", remote(server, scratch.path)])
            #expect(long.stdout.split(separator: "\n").first?.hasPrefix("drwx") == true)
            let stat = try await cpSFTP(server, ["stat", remote(server, scratch.file("up.txt"))])
            #expect(stat.stdout.contains("type: file\nsize: 16\n"))
            #expect(
                try await cpSFTP(server, ["mv", remote(server, scratch.file("up.txt")), scratch.file("moved.txt")])
                    .status == 0)
            #expect(FileManager.default.fileExists(atPath: scratch.file("moved.txt")))
            #expect(try await cpSFTP(server, ["rm", remote(server, scratch.file("moved.txt"))]).status == 0)
            #expect(try await cpSFTP(server, ["rmdir", remote(server, scratch.file("d/e"))]).status == 0)
            #expect(!FileManager.default.fileExists(atPath: scratch.file("d/e")))
        }
    }

    @Test func treesTravelWithDashR() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            try scratch.write("tree/a.txt", "a")
            try scratch.write("tree/sub/b.txt", "b")
            try scratch.write("tree/sub/deeper/c.txt", "c")
            let refused = try await cpSFTP(server, ["put", scratch.file("tree"), remote(server, scratch.file("copy"))])
            #expect(refused.status == 1)
            #expect(refused.stderr == "cp: sftp: put '\(scratch.file("tree"))': is a directory (use -r)\n")
            let put = try await cpSFTP(
                server, ["put", "-r", scratch.file("tree"), remote(server, scratch.file("copy"))])
            #expect(put.status == 0, "\(put.stderr)")
            #expect(try String(contentsOfFile: scratch.file("copy/sub/deeper/c.txt"), encoding: .utf8) == "c")
            let get = try await cpSFTP(
                server, ["get", "-r", remote(server, scratch.file("copy")), scratch.file("back")])
            #expect(get.status == 0, "\(get.stderr)")
            #expect(try String(contentsOfFile: scratch.file("back/sub/b.txt"), encoding: .utf8) == "b")
        }
    }

    /// Several sources go into a directory that exists (each way); a target that is not one
    /// is refused before anything moves.
    @Test func severalFilesGoIntoADirectory() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            try scratch.write("one.txt", "1")
            try scratch.write("two words.txt", "2")
            try scratch.write("inbox/.keep", "")
            try scratch.write("back/.keep", "")
            let sources = [scratch.file("one.txt"), scratch.file("two words.txt")]
            let refused = try await cpSFTP(server, ["put"] + sources + [remote(server, scratch.file("nowhere"))])
            #expect(refused.status == 1)
            #expect(
                refused.stderr
                    == "cp: sftp: put '\(scratch.file("nowhere"))': not an existing directory (2 files need one to go into)\n"
            )
            #expect(!FileManager.default.fileExists(atPath: scratch.file("nowhere")))
            let put = try await cpSFTP(server, ["put"] + sources + [remote(server, scratch.file("inbox"))])
            #expect(put.status == 0, "\(put.stderr)")
            #expect(try String(contentsOfFile: scratch.file("inbox/two words.txt"), encoding: .utf8) == "2")
            let remotes = ["one.txt", "two words.txt"].map { remote(server, scratch.file("inbox/\($0)")) }
            let stray = try await cpSFTP(server, ["get"] + remotes + [scratch.file("one.txt")])
            #expect(stray.status == 1)
            #expect(
                stray.stderr
                    == "cp: sftp: get '\(scratch.file("one.txt"))': not an existing directory (2 files need one to go into)\n"
            )
            let get = try await cpSFTP(server, ["get"] + remotes + [scratch.file("back")])
            #expect(get.status == 0, "\(get.stderr)")
            #expect(try String(contentsOfFile: scratch.file("back/one.txt"), encoding: .utf8) == "1")
            #expect(try String(contentsOfFile: scratch.file("back/two words.txt"), encoding: .utf8) == "2")
        }
    }

    @Test func anUnknownHostIsRefusedUntilAcceptNew() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let knownHosts = scratch.file("known_hosts")
            let refused = try await cpSFTP(server, ["ls", remote(server, "/")], knownHosts: knownHosts)
            #expect(refused.status == 1)
            #expect(refused.stderr.hasPrefix("cp: sftp: unknown host [127.0.0.1]:\(server.port) (key SHA256:"))
            #expect(refused.stderr.filter { $0 == "\n" }.count == 1)
            let accepted = try await cp([
                "sftp", "-i", server.clientKeyPath, "--known-hosts", knownHosts, "--accept-new", "ls",
                remote(server, "/"),
            ])
            #expect(accepted.status == 0, "\(accepted.stderr)")
            #expect(try await cpSFTP(server, ["ls", remote(server, "/")], knownHosts: knownHosts).status == 0)
        }
    }

    @Test func aMissingRemoteFileIsOneLineAndNoLocalFile() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let result = try await cpSFTP(server, ["get", remote(server, scratch.file("nope")), scratch.file("local")])
            #expect(result.status == 1)
            #expect(result.stderr == "cp: sftp: get '\(scratch.file("nope"))': no such file or directory\n")
            #expect(!FileManager.default.fileExists(atPath: scratch.file("local")))
        }
    }

    @Test func aBadAddressIsRefusedBeforeConnecting() async throws {
        let result = try await cp(["sftp", "ls", "no-colon-here"])
        #expect(result.status == 1)
        #expect(result.stderr == "cp: sftp: bad address 'no-colon-here': expected [USER@]HOST[:PORT]:PATH\n")
    }
}

@Suite(.serialized) struct SFTPLocalFailureEndToEndTests {
    /// A local write that fails part-way (a file-size limit stands in for a full disk, which
    /// a test cannot make without mounting): one line, exit 1, no target.
    @Test func aLocalWriteFailureLeavesNoTarget() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            #expect(FileManager.default.createFile(atPath: scratch.file("big.bin"), contents: nil))
            #expect(truncate(scratch.file("big.bin"), 4 * 1024 * 1024) == 0)
            // 512 KiB (dash counts 512-byte blocks), and EFBIG instead of a signal
            let script = "trap '' XFSZ; ulimit -f 1024; exec \"$@\""
            let result = try await runProcess(
                "/bin/sh",
                [
                    "-c", script, "sh", cpBinary, "sftp", "-i", server.clientKeyPath, "--known-hosts",
                    server.knownHostsPath,
                    "get", remote(server, scratch.file("big.bin")), scratch.file("copy.bin"),
                ])
            #expect(result.status == 1)
            #expect(result.stderr == "cp: sftp: write '\(scratch.file(".copy.bin.cp-part"))': File too large\n")
            #expect(!FileManager.default.fileExists(atPath: scratch.file("copy.bin")))
        }
    }
}

@Suite(.serialized) struct SFTPRemoteFailureEndToEndTests {
    /// The server cannot write (a file-size limit on sshd stands in for its full disk): one
    /// line naming the target, exit 1, neither target nor temporary file left behind.
    @Test(arguments: [4, 40])  // MiB; 40 goes over three sessions
    func aRemoteWriteFailureLeavesNothing(mebibytes: Int) async throws {
        try await withSSHServer(fileSizeLimit: 1024 * 1024) { server in
            let scratch = try TemporaryDirectory()
            #expect(FileManager.default.createFile(atPath: scratch.file("big.bin"), contents: nil))
            #expect(truncate(scratch.file("big.bin"), off_t(mebibytes * 1024 * 1024)) == 0)
            try scratch.write("inbox/.keep", "")
            let target = scratch.file("inbox/big.bin")
            let result = try await cpSFTP(server, ["put", scratch.file("big.bin"), remote(server, target)])
            #expect(result.status == 1)
            #expect(
                result.stderr
                    == "cp: sftp: put '\(target)': the server could not write it "
                    + "(its disk is full, or a quota or file-size limit was reached)\n")
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("inbox")) == [".keep"])
        }
    }
}

@Suite(.serialized) struct SFTPProgressEndToEndTests {
    /// On a terminal (a pseudo-terminal from `script`), a transfer shows its progress line;
    /// with `-q` it shows none.
    @Test func aTerminalGetsAProgressLineUnlessQuiet() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            #expect(FileManager.default.createFile(atPath: scratch.file("big.bin"), contents: nil))
            #expect(truncate(scratch.file("big.bin"), 8 * 1024 * 1024) == 0)
            func run(_ extra: [String], to local: String) async throws -> String {
                let command =
                    ([cpBinary, "sftp"] + extra + [
                        "-i", server.clientKeyPath, "--known-hosts", server.knownHostsPath, "get",
                        remote(server, scratch.file("big.bin")), local,
                    ]).map { "'\($0)'" }.joined(separator: " ")
                let result = try await runProcess("/usr/bin/script", ["-q", "-e", "-c", command, "/dev/null"])
                #expect(result.status == 0, "\(result.stdout)")
                return result.stdout
            }
            let shown = try await run([], to: scratch.file("a.bin"))
            #expect(shown.contains("big.bin  8.0 MiB / 8.0 MiB"))
            #expect(shown.contains("/s  ETA "))
            let quiet = try await run(["-q"], to: scratch.file("b.bin"))
            #expect(!quiet.contains("MiB"))
        }
    }
}

@Suite(.serialized) struct SFTPPassphraseEndToEndTests {
    @Test func aPassphraseFileUnlocksTheKey() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let keygen = try BinaryLocator.locate("ssh-keygen")
            let made = try await runProcess(
                keygen, ["-q", "-t", "ed25519", "-N", "pass phrase", "-f", scratch.file("key")])
            #expect(made.status == 0)
            let authorized = try String(contentsOfFile: server.directory.file("authorized_keys"), encoding: .utf8)
            let publicKey = try String(contentsOfFile: scratch.file("key.pub"), encoding: .utf8)
            try (authorized + publicKey).write(
                toFile: server.directory.file("authorized_keys"), atomically: true, encoding: .utf8)
            try scratch.write("right", "pass phrase\n")
            try scratch.write("wrong", "nope\n")
            func list(_ passphrase: String) async throws -> (status: Int32, stdout: String, stderr: String) {
                try await cp([
                    "sftp", "-i", scratch.file("key"), "--passphrase-file", scratch.file(passphrase),
                    "--known-hosts", server.knownHostsPath, "ls", remote(server, scratch.path),
                ])
            }
            let unlocked = try await list("right")
            #expect(unlocked.status == 0, "\(unlocked.stderr)")
            #expect(unlocked.stdout.contains("key.pub\n"))
            let refused = try await list("wrong")
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("wrong passphrase"))
        }
    }
}
