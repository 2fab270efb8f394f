import CPProtocol
import Chef
import Foundation
import Hashing
import ProcessRunner
import SFTPClient
import Synchronization
import TestSupport
import Testing

/// A project on another pod, through a real `sshd`: inputs fetched into the Chef's mirror and
/// verified, kept by content, outputs put back; strict host keys.
@Suite(.serialized) struct SFTPWorkspaceTests {
    static let rules = """
        types:
          text: {extensions: ["*.txt"]}
        rules:
          join:
            dependencies: [text]
            secondaryDependencies: [text]
            outputs: [text]
            build: [sh, -c, "cat \\"$@\\" > out/joined.txt; ls > listing.txt", sh, "{{dependencies}}", "{{secondaryDependencies}}"]
        """

    /// The pod's project in `pod/p` (served by `sshd`), the Chef's work directory in `chef/`.
    struct Fixture {
        let scratch: TemporaryDirectory
        let server: SSHTestServer
        let workspace: SFTPWorkspace
        let executor: JobExecutor
        var root: String { scratch.file("pod/p") }

        init(_ server: SSHTestServer, knownHosts: String? = nil) throws {
            scratch = try TemporaryDirectory()
            self.server = server
            _ = try scratch.write("rules/test.ryml", SFTPWorkspaceTests.rules)
            _ = try scratch.write("pod/p/a.txt", "alpha\n")
            _ = try scratch.write("pod/p/sub/b.txt", "beta\n")
            var options = SFTPOptions(knownHosts: knownHosts ?? server.knownHostsPath)
            options.identity = server.clientKeyPath
            let workspace = SFTPWorkspace(settings: .init(workDirectory: scratch.file("chef"), options: options))
            self.workspace = workspace
            executor = JobExecutor(
                rules: try ChefRules.load([scratch.file("rules")]),
                settings: .init(chef: "far", workDirectory: scratch.file("chef"), timeout: .seconds(60))
            ) { _ in workspace }
        }

        func job(_ id: String, inputs: [String], secondary: [String: String?] = [:], project: String = "p") throws
            -> Job
        {
            var digests: [String: String] = [:]
            for path in inputs { digests[path] = try SHA256Hasher.hex(ofFileAt: root + "/" + path) }
            var job = Job(
                jobId: id, buildId: "b", project: project, task: "joined", rule: "join", inputs: digests,
                secondaryInputs: secondary, outputs: ["out/joined.txt"],
                source: .init(pod: "a", sftp: "\(server.user)@127.0.0.1:\(server.port)", root: root))
            job.placeholders.dependencies = inputs
            job.placeholders.secondaryDependencies = secondary.keys.sorted()
            return job
        }

        func run(_ job: Job) async -> JobResult {
            await executor.run(job, cancellation: .init()) { _ in }
        }
    }

    @Test func inputsAreFetchedAndVerifiedOutputsPutBackAndNothingIsFetchedTwice() async throws {
        try await withSSHServer { server in
            let fixture = try Fixture(server)
            defer { fixture.scratch.remove() }
            let first = await fixture.run(try fixture.job("j1", inputs: ["a.txt", "sub/b.txt"]))
            #expect(first.result == .succeeded, "\(first)")
            // The output is back on the pod, whole, with the digest the result gives.
            let back = fixture.root + "/out/joined.txt"
            #expect(try String(contentsOfFile: back, encoding: .utf8) == "alpha\nbeta\n")
            #expect(first.outputs["out/joined.txt"]?.sha256 == (try SHA256Hasher.hex(ofFileAt: back)))
            // It ran in the mirror, not on the pod.
            let mirror = fixture.workspace.mirror(of: try fixture.job("j1", inputs: []))
            #expect(mirror.hasPrefix(fixture.scratch.file("chef/mirror/a/p-")))
            #expect(FileManager.default.fileExists(atPath: mirror + "/listing.txt"))
            #expect(!FileManager.default.fileExists(atPath: fixture.root + "/listing.txt"))
            #expect(await fixture.workspace.fetched == ["a:a.txt", "a:sub/b.txt"])
            // Again: every input is here with its digest, nothing is fetched.
            let second = await fixture.run(try fixture.job("j2", inputs: ["a.txt", "sub/b.txt"]))
            #expect(second.result == .succeeded)
            #expect(await fixture.workspace.fetched.count == 2)
            // Another project with a file of the same content takes it from the store.
            _ = try fixture.scratch.write("pod/p/c.txt", "alpha\n")
            let other = await fixture.run(try fixture.job("j3", inputs: ["c.txt"], project: "q"))
            #expect(other.result == .succeeded, "\(other)")
            #expect(await fixture.workspace.fetched.count == 2)
            // An edited input is fetched again.
            _ = try fixture.scratch.write("pod/p/a.txt", "alpha 2\n")
            let edited = await fixture.run(try fixture.job("j4", inputs: ["a.txt", "sub/b.txt"]))
            #expect(edited.result == .succeeded)
            #expect(await fixture.workspace.fetched == ["a:a.txt", "a:sub/b.txt", "a:a.txt"])
            #expect(try String(contentsOfFile: back, encoding: .utf8) == "alpha 2\nbeta\n")
            await fixture.workspace.close()
        }
    }

    @Test func aFetchedInputWhoseDigestDiffersIsRefusedAndNothingRuns() async throws {
        try await withSSHServer { server in
            let fixture = try Fixture(server)
            defer { fixture.scratch.remove() }
            var job = try fixture.job("j1", inputs: ["a.txt"])
            job.inputs["a.txt"] = try SHA256Hasher.hex(of: Array("what the MajorDomo saw\n".utf8))
            let result = await fixture.run(job)
            #expect(result.result == .failed)
            #expect(result.details.hasPrefix("input 'a.txt' on pod a is not the one the job was sent for"))
            #expect(!FileManager.default.fileExists(atPath: fixture.root + "/out/joined.txt"))
            let mirror = fixture.workspace.mirror(of: job)
            #expect(!FileManager.default.fileExists(atPath: mirror + "/a.txt"))
            #expect(
                !FileManager.default.fileExists(atPath: fixture.scratch.file("chef/objects/") + job.inputs["a.txt"]!))
            await fixture.workspace.close()
        }
    }

    @Test func aSecondaryInputAbsentOnThePodIsNotLeftInTheMirror() async throws {
        try await withSSHServer { server in
            let fixture = try Fixture(server)
            defer { fixture.scratch.remove() }
            _ = try fixture.scratch.write("pod/p/aux.txt", "from the last pass\n")
            let digest = try SHA256Hasher.hex(ofFileAt: fixture.root + "/aux.txt")
            let with = await fixture.run(try fixture.job("j1", inputs: ["a.txt"], secondary: ["aux.txt": digest]))
            #expect(
                try String(contentsOfFile: fixture.root + "/out/joined.txt", encoding: .utf8)
                    == "alpha\nfrom the last pass\n", "\(with)")
            let without = await fixture.run(try fixture.job("j2", inputs: ["a.txt"], secondary: ["aux.txt": nil]))
            #expect(without.result == .succeeded)
            #expect(try String(contentsOfFile: fixture.root + "/out/joined.txt", encoding: .utf8) == "alpha\n")
            #expect(
                !FileManager.default.fileExists(
                    atPath: fixture.workspace.mirror(of: try fixture.job("x", inputs: [])) + "/aux.txt"))
            await fixture.workspace.close()
        }
    }

    @Test func anUnknownHostKeyIsRefusedWithWhatToDo() async throws {
        try await withSSHServer { server in
            let empty = try TemporaryDirectory()
            defer { empty.remove() }
            _ = try empty.write("known_hosts", "")
            let fixture = try Fixture(server, knownHosts: empty.file("known_hosts"))
            defer { fixture.scratch.remove() }
            let result = await fixture.run(try fixture.job("j1", inputs: ["a.txt"]))
            #expect(result.result == .failed)
            #expect(result.details.hasPrefix("cannot fetch input 'a.txt' from pod a: unknown host [127.0.0.1]:"))
            #expect(result.details.contains("host keys are checked strictly"), "\(result.details)")
            #expect(try String(contentsOfFile: empty.file("known_hosts"), encoding: .utf8).isEmpty)
            await fixture.workspace.close()
        }
    }
}
