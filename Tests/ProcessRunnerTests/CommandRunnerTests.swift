import Foundation
import ProcessRunner
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The command runner against real processes.
@Suite struct CommandRunnerTests {
    func spec(_ argv: [String], in directory: String = "/tmp", timeout: Duration? = nil) -> CommandRunner.Spec {
        CommandRunner.Spec(
            argv: argv, directory: directory,
            environment: CommandRunner.cleanEnvironment(["CP_TASK": "t", "CP_PASS": "2"]),
            timeout: timeout)
    }

    @Test func runsWithoutAShellInItsDirectoryWithACleanEnvironment() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        setenv("CP_TEST_SECRET", "leaked", 1)
        defer { unsetenv("CP_TEST_SECRET") }
        let outcome = try CommandRunner.run(
            spec(["/usr/bin/env"], in: directory.path))
        #expect(outcome.succeeded)
        let lines = outcome.lines.map(\.text)
        #expect(lines.contains("CP_TASK=t") && lines.contains("CP_PASS=2") && lines.contains("LANG=C.UTF-8"))
        #expect(!lines.contains { $0.hasPrefix("CP_TEST_SECRET") })
        let pwd = try CommandRunner.run(spec(["pwd"], in: directory.path))
        #expect(pwd.lines.map(\.text) == [URL(fileURLWithPath: directory.path).resolvingSymlinksInPath().path])
        // No shell: the metacharacters are one argument.
        let echo = try CommandRunner.run(spec(["echo", "a;b", "$HOME", "*"]))
        #expect(echo.lines.map(\.text) == ["a;b $HOME *"])
    }

    @Test func capturesBothStreamsLineByLineAndTheExitStatus() throws {
        var seen: [CommandRunner.Line] = []
        let outcome = try CommandRunner.run(spec(["sh", "-c", "echo one; echo two >&2; printf three; exit 3"])) {
            seen.append($0)
        }
        #expect(outcome.status == 3 && !outcome.succeeded)
        #expect(
            Set(outcome.lines) == [
                .init(stream: .stdout, text: "one"), .init(stream: .stderr, text: "two"),
                .init(stream: .stdout, text: "three"),
            ])
        #expect(seen.count == 3)
    }

    @Test func outputLinesArriveInOrder() throws {
        var seen: [String] = []
        let script = "i=1; while [ $i -le 2000 ]; do echo line $i; i=$((i+1)); done; printf 'last'"
        let outcome = try CommandRunner.run(spec(["sh", "-c", script])) { seen.append($0.text) }
        let expected = (1...2000).map { "line \($0)" } + ["last"]
        #expect(seen == expected)  // every line, whole, in order, as it came
        #expect(outcome.lines.map(\.text) == Array(expected.suffix(CommandRunner.keptLines)))
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // A child that would outlive its parent and write a file later.
        let outcome = try CommandRunner.run(
            spec(
                ["sh", "-c", "(sleep 3; touch late) & echo started; sleep 30"], in: directory.path,
                timeout: .milliseconds(300)))
        #expect(outcome.timedOut && !outcome.succeeded)
        #expect(outcome.lines.map(\.text) == ["started"])
        // The background child was in the group: it is gone, so `late` will never appear. (A
        // process killed is gone a moment later, not when kill returns: on a loaded machine
        // pgrep has seen it still exiting.)
        let deadline = ContinuousClock.now + .seconds(10)
        var found = try runProcessSync(["pgrep", "-f", "sleep 3; touch late"])
        while found == 0 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            found = try runProcessSync(["pgrep", "-f", "sleep 3; touch late"])
        }
        #expect(found == 1)
    }

    @Test func cancellationKillsTheJob() throws {
        let cancellation = CommandRunner.Cancellation()
        // Cancelled from another thread as soon as the job has started.
        let outcome = try CommandRunner.run(spec(["sh", "-c", "echo started; sleep 30"]), cancellation: cancellation) {
            line in
            if line.text == "started" { Thread { cancellation.cancel() }.start() }
        }
        #expect(outcome.cancelled && !outcome.succeeded)
        #expect(outcome.status == 128 + SIGTERM)
    }

    @Test func aMissingProgramIsAClearError() {
        #expect(throws: ProcessError.notFound(program: "no-such-program-cp", path: "/usr/bin:/bin")) {
            try CommandRunner.run(
                CommandRunner.Spec(
                    argv: ["no-such-program-cp"], directory: "/tmp", environment: ["PATH": "/usr/bin:/bin"]))
        }
    }

    /// Runs a command to its end and returns its exit status (pgrep: 0 found, 1 none).
    func runProcessSync(_ argv: [String]) throws -> Int32 {
        try CommandRunner.run(spec(argv)).status
    }
}

/// The first error line of a tool's output, for a failed task's message.
@Suite struct FirstErrorTests {
    @Test func aTeXErrorComesWithTheLineWhereTeXStopped() {
        let missing = [
            "(./thesis.aux)", "! LaTeX Error: File `chapters/missing.tex' not found.", "",
            "Type X to quit or <RETURN> to proceed,", "Enter file name: ", "./thesis.tex:14: Emergency stop.",
            "<read *> ", "l.14 \\input{chapters/missing}", "                             ^^M",
        ]
        #expect(
            FirstError.find(in: missing)
                == "LaTeX Error: File `chapters/missing.tex' not found. (at l.14 \\input{chapters/missing})")
        let undefined = ["./paper.tex:13: Undefined control sequence.", "l.13 \\nosuchmacro", "                 {x}"]
        #expect(FirstError.find(in: undefined) == "./paper.tex:13: Undefined control sequence. (at l.13 \\nosuchmacro)")
    }

    @Test func aCompilerErrorIsItsLineAndOrdinaryOutputIsNone() {
        let gcc = [
            "src/a.c: In function 'main':", "src/a.c:3:5: warning: unused variable 'x'",
            "src/a.c:4:12: error: expected ';' before '}' token", "src/a.c:9:1: error: second",
        ]
        #expect(FirstError.find(in: gcc) == "src/a.c:4:12: error: expected ';' before '}' token")
        #expect(
            FirstError.find(in: ["This is pdfTeX", "Output written on paper.pdf (2 pages).", "time: 12:30: ok"]) == nil)
    }
}
