import CPModel
import CPProtocol
import Chef
import Foundation
import Hashing
import ProcessRunner
import RulesManager
import Synchronization
import TestSupport
import Testing

/// The Chef's core on a shared filesystem: its own rules only, every path checked, inputs
/// verified, the command run with its log, outputs hashed.
@Suite struct JobExecutorTests {
    static let rules = """
        types:
          text: {extensions: ["*.txt"]}
        rules:
          copy: {dependencies: [text], outputs: [text], build: [/bin/cp, "{{input}}", "{{output}}"]}
          join:
            dependencies: [text]
            secondaryDependencies: [text]
            outputs: [text]
            build: [awk, "BEGIN { for (i = 2; i < ARGC; i++) while ((getline l < ARGV[i]) > 0) print l > ARGV[1] }", "{{output}}", "{{dependencies}}", "{{secondaryDependencies}}"]
          chatty: {dependencies: [], outputs: [], build: [sh, -c, "i=1; while [ $i -le 300 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done"]}
          fail: {dependencies: [], outputs: [], build: [sh, -c, "echo bad input >&2; exit 3"]}
          slow: {dependencies: [], outputs: [], build: [sh, -c, "(sleep 3; touch late) & echo started; sleep 30"]}
          forks: {dependencies: [], outputs: [], build: [sh, -c, "(sleep 3.217; touch late) & echo started; sleep 30"]}
          record:
            dependencies: [text]
            outputs: [text]
            build: [sh, -c, 'cat "$1" b.txt > "$2"; echo "$2: $1 b.txt /etc/hostname ../up.txt" > "$2.d"', sh, "{{input}}", "{{output}}"]
            discover: {format: depfile, file: "{{output}}.d"}
          staged:
            dependencies: []
            outputs: [text]
            build: [sh, -c, 'echo new > "$1/$2"; echo log > "$1/sub/run.log"; echo "$2: $1/a.txt" > "$1/$2.d"; exit $3', sh, "{{stage}}", "{{output}}", "{{stem}}"]
            discover: {format: depfile, file: "{{output}}.d"}
          escape:
            dependencies: []
            outputs: []
            build: [sh, -c, "echo x: y > ../escape.d"]
            discover: {format: depfile, file: ../escape.d}
        """

    /// A project with `a.txt` and a Chef with the rules above.
    struct Fixture {
        let scratch: TemporaryDirectory
        let executor: JobExecutor
        var root: String { scratch.file("p") }

        init(timeout: Duration = .seconds(60), logLimit: Int = 1 << 20) throws {
            scratch = try TemporaryDirectory()
            _ = try scratch.write("rules/test.ryml", JobExecutorTests.rules)
            _ = try scratch.write("p/a.txt", "alpha\n")
            _ = try scratch.write("p/b.txt", "beta\n")
            var settings = JobExecutor.Settings(
                chef: "chef-1", workDirectory: scratch.file("work"), timeout: timeout)
            settings.logLimit = logLimit
            executor = JobExecutor(rules: try ChefRules.load([scratch.file("rules")]), settings: settings)
        }

        func job(
            _ rule: String, inputs: [String: String] = [:], secondary: [String: String?] = [:], outputs: [String] = [],
            id: String = "b1-1"
        ) -> Job {
            Job(
                jobId: id, buildId: "b1", project: "p", task: "t-\(rule)", rule: rule, inputs: inputs,
                secondaryInputs: secondary, outputs: outputs, source: .init(pod: "here", root: root))
        }

        func run(_ job: Job, cancellation: CommandRunner.Cancellation = .init()) async -> (JobResult, [LogLines]) {
            let logs = Mutex<[LogLines]>([])
            let result = await executor.run(job, cancellation: cancellation) { batch in
                logs.withLock { $0.append(batch) }
            }
            return (result, logs.withLock { $0 })
        }

        func digest(_ path: String) throws -> String { try SHA256Hasher.hex(ofFileAt: root + "/" + path) }
    }

    @Test func aJobRunsItsOwnRuleAndReportsTheOutputsDigests() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let (result, _) = await fixture.run(
            fixture.job("copy", inputs: ["a.txt": try fixture.digest("a.txt")], outputs: ["c.txt"]))
        #expect(result.result == .succeeded && result.exitCode == 0, "\(result)")
        #expect(try String(contentsOfFile: fixture.root + "/c.txt", encoding: .utf8) == "alpha\n")
        #expect(result.outputs["c.txt"]?.sha256 == (try fixture.digest("a.txt")))
        #expect(result.outputs["c.txt"]?.size == 6)
        // It printed nothing: no log file is made.
        #expect(!FileManager.default.fileExists(atPath: fixture.scratch.file("work/logs/b1-1.log")))
    }

    @Test func placeholdersKeepTheTasksOrderAndLeaveOutAbsentSecondaryInputs() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        _ = try fixture.scratch.write("p/d.txt", "delta\n")
        var job = fixture.job(
            "join", inputs: ["b.txt": try fixture.digest("b.txt"), "a.txt": try fixture.digest("a.txt")],
            secondary: ["c.txt": nil, "d.txt": .some(try fixture.digest("d.txt"))], outputs: ["all.txt"])
        job.placeholders = .init(
            dependencies: ["b.txt", "a.txt"], secondaryDependencies: ["c.txt", "d.txt"], stem: "all", mainFile: "b.txt")
        let (result, _) = await fixture.run(job)
        #expect(result.result == .succeeded, "\(result)")
        #expect(try String(contentsOfFile: fixture.root + "/all.txt", encoding: .utf8) == "beta\nalpha\ndelta\n")
    }

    @Test func theFilesItsToolReportsReadingInsideTheProjectComeBackWithTheResult() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let (result, _) = await fixture.run(
            fixture.job("record", inputs: ["a.txt": try fixture.digest("a.txt")], outputs: ["c.txt"]))
        #expect(result.result == .succeeded, "\(result)")
        #expect(try String(contentsOfFile: fixture.root + "/c.txt", encoding: .utf8) == "alpha\nbeta\n")
        // Not /etc/hostname nor ../up.txt (outside), not c.txt (written).
        #expect(result.discovered == ["a.txt", "b.txt"])
        // A rule with no `discover` reports nothing: the field is left out on the wire.
        let (copied, _) = await fixture.run(
            fixture.job("copy", inputs: ["a.txt": try fixture.digest("a.txt")], outputs: ["d.txt"], id: "b1-2"))
        #expect(copied.result == .succeeded && copied.discovered == nil)
        #expect(!String(decoding: try JSONEncoder().encode(copied), as: UTF8.self).contains("discovered"))
        // A discovery file outside the project is refused before anything runs.
        let (escaped, _) = await fixture.run(fixture.job("escape", id: "b1-3"))
        #expect(
            escaped.result == .failed && escaped.details.contains("discovery file refused: '../escape.d' climbs out"))
        #expect(!FileManager.default.fileExists(atPath: fixture.scratch.file("escape.d")))
    }

    /// A rule that writes into `{{stage}}`: its files are moved into place after a success; a
    /// failure leaves the task's outputs as they were and moves the rest (its log).
    @Test func whatAToolWritesIntoItsStageIsMovedIntoPlaceAndAFailureKeepsTheLastOutputs() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        _ = try fixture.scratch.write("p/c.txt", "old\n")
        _ = try fixture.scratch.write("p/sub/keep.txt", "")  // the stage has sub/ too
        var job = fixture.job("staged", outputs: ["c.txt"])
        job.placeholders.stem = "1"
        let (failed, _) = await fixture.run(job)
        #expect(failed.result == .failed, "\(failed)")
        #expect(try String(contentsOfFile: fixture.root + "/c.txt", encoding: .utf8) == "old\n")
        #expect(try String(contentsOfFile: fixture.root + "/sub/run.log", encoding: .utf8) == "log\n")
        job.placeholders.stem = "0"
        job.jobId = "b1-2"
        let (result, _) = await fixture.run(job)
        #expect(result.result == .succeeded, "\(result)")
        #expect(try String(contentsOfFile: fixture.root + "/c.txt", encoding: .utf8) == "new\n")
        #expect(result.outputs["c.txt"]?.sha256 == (try fixture.digest("c.txt")))
        // The depfile names the stage's path; it is the project's file it was moved to.
        #expect(result.discovered == ["a.txt"])
        let stage = fixture.root + "/" + Stage.path(task: job.task)
        let left = try FileManager.default.subpathsOfDirectory(atPath: stage)
        #expect(left == ["sub"], "nothing but the project's directories is left in the stage")
    }

    /// With `--allow`, a job naming a project root on this machine outside it fails before
    /// anything runs; one inside runs.
    @Test func aProjectRootOutsideTheAllowedDirectoriesIsRefused() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let allowed = AllowedRoots([fixture.scratch.file("elsewhere")])
        let strict = JobExecutor(
            rules: try ChefRules.load([fixture.scratch.file("rules")]),
            settings: .init(chef: "chef-1", workDirectory: fixture.scratch.file("work"), timeout: .seconds(60))
        ) { _ in SharedWorkspace(allowed: allowed) }
        let result = await strict.run(fixture.job("copy", outputs: ["out.txt"]), cancellation: .init()) { _ in }
        #expect(result.result == .failed && result.exitCode == nil)
        #expect(result.details.hasPrefix("the project root '\(fixture.root)' is outside the directories"), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/out.txt"))
        let open = JobExecutor(
            rules: try ChefRules.load([fixture.scratch.file("rules")]),
            settings: .init(chef: "chef-1", workDirectory: fixture.scratch.file("work"), timeout: .seconds(60))
        ) { _ in SharedWorkspace(allowed: AllowedRoots([fixture.scratch.path])) }
        let ran = await open.run(
            fixture.job("copy", inputs: ["a.txt": try fixture.digest("a.txt")], outputs: ["out.txt"]),
            cancellation: .init()
        ) { _ in }
        #expect(ran.result == .succeeded, "\(ran)")
    }

    @Test func aRuleTheChefDoesNotOfferFails() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let (result, _) = await fixture.run(fixture.job("rm-rf", outputs: []))
        #expect(result.result == .failed && result.exitCode == nil)
        #expect(result.details == "rule 'rm-rf' is not offered by chef chef-1")
    }

    @Test(arguments: [
        ("/etc/passwd", "path refused: '/etc/passwd' is absolute"),
        ("../x.txt", "path refused: '../x.txt' climbs out with '..'"),
        ("sub/../../x.txt", "path refused: 'sub/../../x.txt' climbs out with '..'"),
        ("a\u{0}b", "path refused: a path holding NUL"),
        ("./a.txt", "path refused: './a.txt' is not clean"),
        ("../\u{301}x", "path refused: '../\u{301}x' climbs out with '..'"),
        ("/\u{32e}x", "path refused: '/\u{32e}x' is absolute"),
    ])
    func pathsThatLeaveTheProjectAreRefused(path: String, message: String) async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let (asOutput, _) = await fixture.run(
            fixture.job("copy", inputs: ["a.txt": try fixture.digest("a.txt")], outputs: [path]))
        #expect(asOutput.result == .failed && asOutput.details == message)
        let (asInput, _) = await fixture.run(fixture.job("copy", inputs: [path: ""], outputs: ["c.txt"]))
        #expect(asInput.result == .failed && asInput.details == message)
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/c.txt"))
    }

    @Test func aSymbolicLinkLeadingOutOfTheProjectIsRefused() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        _ = try fixture.scratch.write("outside/secret.txt", "secret\n")
        try FileManager.default.createSymbolicLink(
            atPath: fixture.root + "/escape", withDestinationPath: fixture.scratch.file("outside"))
        let (result, _) = await fixture.run(
            fixture.job("copy", inputs: ["a.txt": try fixture.digest("a.txt")], outputs: ["escape/secret.txt"]))
        #expect(result.result == .failed)
        #expect(result.details == "path refused: 'escape/secret.txt' leads outside the project through a symbolic link")
        #expect(try String(contentsOfFile: fixture.scratch.file("outside/secret.txt"), encoding: .utf8) == "secret\n")
        // A link that stays inside is followed.
        try FileManager.default.createSymbolicLink(atPath: fixture.root + "/inside", withDestinationPath: fixture.root)
        let (inside, _) = await fixture.run(
            fixture.job("copy", inputs: ["inside/a.txt": try fixture.digest("a.txt")], outputs: ["c.txt"]))
        #expect(inside.result == .succeeded, "\(inside)")
    }

    @Test func anInputWhoseDigestDiffersFromTheJobsIsNeverUsed() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let stale = try SHA256Hasher.hex(of: Array("older\n".utf8))
        let (result, _) = await fixture.run(fixture.job("copy", inputs: ["a.txt": stale], outputs: ["c.txt"]))
        #expect(result.result == .failed)
        #expect(result.details.hasPrefix("input 'a.txt' is not the one the job was sent for"), "\(result.details)")
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/c.txt"))
        let (missing, _) = await fixture.run(fixture.job("copy", inputs: ["gone.txt": stale], outputs: ["c.txt"]))
        #expect(missing.details == "input 'gone.txt' is missing")
    }

    @Test func theLogArrivesInOrderInBatchesAndWholeInTheJobsDirectory() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let (result, batches) = await fixture.run(fixture.job("chatty", id: "b1-7"))
        #expect(result.result == .succeeded)
        let out = batches.filter { $0.stream == .stdout }.flatMap(\.lines)
        let err = batches.filter { $0.stream == .stderr }.flatMap(\.lines)
        #expect(out == (1...300).map { "out \($0)" })
        #expect(err == (1...300).map { "err \($0)" })
        #expect(batches.count < 600)  // batched, not a message per line
        #expect(batches.allSatisfy { $0.jobId == "b1-7" && $0.task == "t-chatty" })
        let file = try String(contentsOfFile: fixture.scratch.file("work/logs/b1-7.log"), encoding: .utf8)
        #expect(file.split(separator: "\n").count == 600)
    }

    @Test func anOverlongLogIsCutWithANoteAndKeptWhole() async throws {
        let fixture = try Fixture(logLimit: 1000)
        defer { fixture.scratch.remove() }
        let (_, batches) = await fixture.run(fixture.job("chatty", id: "b1-8"))
        let lines = batches.flatMap(\.lines)
        #expect(lines.dropLast().map(\.utf8.count).reduce(0, +) <= 1000)
        let note = try #require(lines.last)
        #expect(note.hasPrefix("[cp chef: the log is cut here after 0 KiB; the whole of it is in "), "\(note)")
        #expect(note.hasSuffix("work/logs/b1-8.log on chef chef-1]"))
        let file = try String(contentsOfFile: fixture.scratch.file("work/logs/b1-8.log"), encoding: .utf8)
        #expect(file.split(separator: "\n").count == 600)
    }

    @Test func aFailingCommandSaysItsStatusAndLastLine() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let (result, _) = await fixture.run(fixture.job("fail"))
        #expect(result.result == .failed && result.exitCode == 3)
        #expect(result.details == "exited with status 3: bad input")
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() async throws {
        let fixture = try Fixture(timeout: .milliseconds(500))
        defer { fixture.scratch.remove() }
        let (result, batches) = await fixture.run(fixture.job("forks"))
        #expect(result.result == .failed)
        #expect(result.details.hasPrefix("timed out after 0.5 seconds"), "\(result.details)")
        #expect(batches.flatMap(\.lines) == ["started"])
        // The forked child was in the group: it never writes `late`.
        let survivor = try CommandRunner.run(
            .init(argv: ["pgrep", "-f", "sleep 3.217"], directory: "/", environment: ["PATH": "/usr/bin:/bin"]))
        #expect(survivor.status == 1)
    }

    @Test func aCancelledJobSaysCancelled() async throws {
        let fixture = try Fixture()
        defer { fixture.scratch.remove() }
        let cancellation = CommandRunner.Cancellation()
        let job = fixture.job("slow")
        let running = Task { await fixture.run(job, cancellation: cancellation) }
        try await waitUntil(deadline: .seconds(30), "the job to start") {
            FileManager.default.fileExists(atPath: fixture.scratch.file("work/logs/b1-1.log"))
                && ((try? String(contentsOfFile: fixture.scratch.file("work/logs/b1-1.log"), encoding: .utf8))?
                    .contains("started") ?? false)
        }
        cancellation.cancel()
        let (result, _) = await running.value
        #expect(result.result == .cancelled && result.details == "cancelled")
    }
}
