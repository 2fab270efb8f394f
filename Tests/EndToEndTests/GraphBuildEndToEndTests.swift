import Foundation
import TestSupport
import Testing

/// `cp graph build`, `plan` and `why` on copies of the bundled examples: real gcc, pdflatex,
/// bibtex and latexmk, through the local executor, with the state in `.cp/state.db`.
@Suite struct GraphBuildEndToEndTests {
    /// A copy of `examples/NAME` in a temporary directory.
    func example(_ name: String) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory()
        let project = directory.file(name)
        try FileManager.default.copyItem(atPath: GraphEndToEndTests.repository + "/examples/" + name, toPath: project)
        return (directory, project)
    }

    /// The tasks a build's stderr says it ran.
    func ran(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("cp: graph: run ") else { return nil }
            return String(line.dropFirst("cp: graph: run ".count).split(separator: " ")[0])
        }
    }

    @Test func cHelloBuildsRunsAndRebuildsOnlyWhatAChangeReaches() async throws {
        let (directory, project) = try example("c-hello")
        defer { directory.remove() }
        let first = try await cp(["graph", "build", "--project", project])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Set(ran(first.stderr)) == ["greet.o", "hello.o", "hello"])
        #expect(FileManager.default.fileExists(atPath: project + "/.cp/state.db"))
        let program = try await runProcess(project + "/hello", [])
        #expect(program.stdout == "Hello, world!\n")
        // Right after: nothing runs.
        let again = try await cp(["graph", "build", "--project", project])
        #expect(again.status == 0 && ran(again.stderr).isEmpty && again.stderr.contains("up to date"))
        // A touch (new time, same bytes) rebuilds nothing.
        let header = project + "/greet.h"
        let text = try String(contentsOfFile: header, encoding: .utf8)
        try text.write(toFile: header, atomically: false, encoding: .utf8)
        let touched = try await cp(["graph", "build", "--project", project])
        #expect(ran(touched.stderr).isEmpty, "\(touched.stderr)")
        // A comment in the header: both objects recompile, come out identical, the link does not run.
        try (text + "/* a comment only */\n").write(toFile: header, atomically: false, encoding: .utf8)
        let plan = try await cp(["graph", "plan", "--project", project])
        #expect(plan.stdout.contains("greet.o [compile]: will run: input 'greet.h' changed"))
        let why = try await cp(["graph", "why", "hello", "--project", project])
        #expect(why.status == 0 && why.stdout.contains("'hello' may change: task 'hello' reads"))
        let comment = try await cp(["graph", "build", "--project", project])
        #expect(comment.status == 0)
        #expect(Set(ran(comment.stderr)) == ["greet.o", "hello.o"], "\(comment.stderr)")
        let upToDate = try await cp(["graph", "why", "hello", "--project", project])
        #expect(upToDate.stdout == "'hello' is up to date (task 'hello' [link])\n")
    }

    @Test func latexPaperMatchesLatexmkWithNoMorePdflatexRuns() async throws {
        let (directory, project) = try example("latex-paper")
        defer { directory.remove() }
        let build = try await cp(["graph", "build", "--project", project])
        #expect(build.status == 0, "\(build.stderr)")
        let ours = ran(build.stderr)
        #expect(build.stderr.contains("converged in 3 passes"))
        // latexmk on a second copy of the same source.
        let peer = directory.file("latexmk-copy")
        try FileManager.default.copyItem(atPath: GraphEndToEndTests.repository + "/examples/latex-paper", toPath: peer)
        let latexmk = try await runProcess(
            "/bin/sh", ["-c", "cd \"$1\" && latexmk -pdf -interaction=nonstopmode paper.tex", "sh", peer],
            deadline: .seconds(120))
        #expect(latexmk.status == 0, "\(latexmk.stderr)")
        let latexmkRuns = (latexmk.stdout + latexmk.stderr).components(separatedBy: "Run number").count - 1
        let pdflatexRuns = ours.filter { $0 == "paper" }.count
        let peerPdflatexRuns = (latexmk.stdout + latexmk.stderr).split(separator: "\n")
            .filter { $0.contains("Run number") && $0.contains("pdflatex") }.count
        #expect(
            latexmkRuns > 0 && pdflatexRuns <= peerPdflatexRuns,
            "ours \(ours), latexmk's pdflatex runs \(peerPdflatexRuns)")
        let ourText = try await runProcess("pdftotext", [project + "/paper.pdf", "-"])
        let peerText = try await runProcess("pdftotext", [peer + "/paper.pdf", "-"])
        #expect(ourText.status == 0 && !ourText.stdout.isEmpty && ourText.stdout == peerText.stdout)
        #expect(!ourText.stdout.contains("??"))
        // One bibliography entry edited: bibtex reruns first, then pdflatex until the .aux
        // settles again, and the new title is in the PDF.
        let bib = project + "/refs.bib"
        let entries = try String(contentsOfFile: bib, encoding: .utf8)
        #expect(entries.contains("A Program for Maintaining Computer Programs"))
        try entries.replacingOccurrences(
            of: "A Program for Maintaining Computer Programs", with: "A Program for Keeping Programs Built"
        )
        .write(toFile: bib, atomically: false, encoding: .utf8)
        let rebuild = try await cp(["graph", "build", "--project", project])
        #expect(rebuild.status == 0)
        let rerun = ran(rebuild.stderr)
        #expect(rerun.first == "bibliography" && rerun.contains("paper"), "\(rebuild.stderr)")
        #expect(rerun.filter { $0 == "paper" }.count <= peerPdflatexRuns)
        let newText = try await runProcess("pdftotext", [project + "/paper.pdf", "-"])
        // (the plain style lowercases titles)
        #expect(newText.stdout.lowercased().contains("a program for keeping programs built"))
        let nothing = try await cp(["graph", "build", "--project", project])
        #expect(ran(nothing.stderr).isEmpty)
    }

    @Test func cyclicCodegenConvergesWithTheComputedValuesInTheDocument() async throws {
        let (directory, project) = try example("cyclic-codegen")
        defer { directory.remove() }
        let build = try await cp(["graph", "build", "--project", project])
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.stderr.contains("converged in 2 passes"))
        let text = try await runProcess("pdftotext", [project + "/doc.pdf", "-"])
        #expect(text.stdout.contains("841") && !text.stdout.contains("not computed yet"))
    }

    @Test func aFailingTaskShowsItsOutputAndExitsOne() async throws {
        let (directory, project) = try example("c-hello")
        defer { directory.remove() }
        try "int main(void) { return this is not C; }\n".write(
            toFile: project + "/hello.c", atomically: false, encoding: .utf8)
        let build = try await cp(["graph", "build", "--project", project])
        #expect(build.status == 1)
        #expect(build.stderr.contains("cp: graph: task 'hello.o' failed (status 1); its output:"))
        #expect(build.stderr.contains("hello.c:1:"))  // gcc's own message, shown
        #expect(build.stderr.contains("cp: graph: task 'hello.o' failed: exit status 1"))
        #expect(!FileManager.default.fileExists(atPath: project + "/hello"))
    }

    @Test func aSecondBuildOfTheSameProjectIsRefusedWhileOneRuns() async throws {
        let (directory, project) = try example("c-hello")
        defer { directory.remove() }
        // Hold the lock as a running build would (a build of our own could finish first).
        try FileManager.default.createDirectory(atPath: project + "/.cp", withIntermediateDirectories: true)
        let descriptor = open(project + "/.cp/build.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        #expect(descriptor >= 0 && flock(descriptor, LOCK_EX | LOCK_NB) == 0)
        try "4242\n".write(toFile: project + "/.cp/build.lock", atomically: false, encoding: .utf8)
        let refused = try await cp(["graph", "build", "--project", project])
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "cp: graph: project '\(project)': another build of it is running (pid 4242); wait for it, or stop it\n"
        )
        #expect(!FileManager.default.fileExists(atPath: project + "/hello.o"))  // nothing ran
        // A plan reads alongside; once the lock is free, the build runs.
        let plan = try await cp(["graph", "plan", "--project", project])
        #expect(plan.status == 0 && plan.stdout.contains("hello.o [compile]: will run: never built"))
        close(descriptor)
        let build = try await cp(["graph", "build", "--project", project])
        #expect(build.status == 0, "\(build.stderr)")
    }

    @Test func aProjectOfHundredsOfTasksRebuildsExactlyWhatItsEditsReach() async throws {
        // Over 1,024 files, so every file is looked at side by side (DiskFileStates.digests).
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let count = 700
        var tasks = "tasks:\n"
        for index in 0..<count {
            try directory.write("p/src/f\(index).txt", "line \(index)\n")
            tasks += "  c\(index): {rule: copy, dependencies: [src/f\(index).txt], outputs: [out/f\(index).txt]}\n"
        }
        tasks += "  all:\n    rule: concatenate\n    dependencies:\n"
        for index in 0..<count { tasks += "      - out/f\(index).txt\n" }
        tasks += "    outputs: [all.txt]\n"
        try directory.write("p/tasks.tyml", tasks)
        try FileManager.default.createDirectory(atPath: directory.file("p/out"), withIntermediateDirectories: true)
        let project = directory.file("p")
        let first = try await cp(["graph", "build", "--project", project])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(ran(first.stderr).count == count + 1)
        // Five edited, five rewritten with the same bytes: the five and the concatenation run.
        var lines = (0..<count).map { "line \($0)\n" }
        for index in [3, 141, 350, 512, 699] {
            lines[index] = "edited \(index)\n"
            try lines[index].write(toFile: project + "/src/f\(index).txt", atomically: false, encoding: .utf8)
        }
        for index in [0, 7, 222, 400, 698] {
            try lines[index].write(toFile: project + "/src/f\(index).txt", atomically: false, encoding: .utf8)
        }
        let second = try await cp(["graph", "build", "--project", project])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(Set(ran(second.stderr)) == ["c3", "c141", "c350", "c512", "c699", "all"])
        #expect(try String(contentsOfFile: project + "/all.txt", encoding: .utf8) == lines.joined())
        let third = try await cp(["graph", "build", "--project", project])
        #expect(third.status == 0 && ran(third.stderr).isEmpty, "\(third.stderr)")
    }

    /// `--system-files`: a file outside the project that the tool reports reading is recorded
    /// by absolute path, and a change to it reruns the task; without it such a file is not.
    @Test func aFileOutsideTheProjectCountsOnlyWithSystemFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write(
            "rules/gather.ryml",
            """
            types:
              text: {extensions: ["*.txt"]}
            rules:
              gather:
                dependencies: [text]
                outputs: [text]
                build: [sh, -c, 'cat "$1" ../sys/x.h > "$2"; echo "$2: $1 ../sys/x.h" > "$2.d"', sh, "{{input}}", "{{output}}"]
                discover: {format: depfile, file: "{{output}}.d"}
            """)
        try directory.write("p/in.txt", "in\n")
        try directory.write(
            "p/tasks.tyml", "tasks:\n  out: {rule: gather, dependencies: [in.txt], outputs: [out.txt]}\n")
        try directory.write("sys/x.h", "one\n")
        let project = directory.file("p")
        let header = URL(fileURLWithPath: directory.file("sys/x.h")).standardizedFileURL.path
        let build = { (extra: [String]) in
            try await cp(["graph", "build", "--project", project, "--rules", directory.file("rules")] + extra)
        }
        let first = try await build(["--system-files"])
        #expect(first.status == 0 && ran(first.stderr) == ["out"], "\(first.stderr)")
        try directory.write("sys/x.h", "two\n")
        let plan = try await cp(["graph", "plan", "--project", project, "--rules", directory.file("rules")])
        #expect(
            plan.stdout.contains("out [gather]: will run: input '\(header)' changed (discovered)"), "\(plan.stdout)")
        let second = try await build(["--system-files"])
        #expect(second.status == 0 && ran(second.stderr) == ["out"], "\(second.stderr)")
        #expect(try String(contentsOfFile: project + "/out.txt", encoding: .utf8) == "in\ntwo\n")
        // Not asked: the run the last record calls for, and from then on the file is not recorded.
        try directory.write("sys/x.h", "three\n")
        let third = try await build([])
        #expect(third.status == 0 && ran(third.stderr) == ["out"], "\(third.stderr)")
        try directory.write("sys/x.h", "four\n")
        let fourth = try await build([])
        #expect(fourth.status == 0 && ran(fourth.stderr).isEmpty, "\(fourth.stderr)")
    }

    @Test func aLinkedInputIsReadThroughItsLink() async throws {
        let (directory, project) = try example("c-hello")
        defer { directory.remove() }
        // The header lives elsewhere (a shared file), linked into the project.
        let shared = directory.file("shared/greet.h")
        try FileManager.default.createDirectory(atPath: directory.file("shared"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: project + "/greet.h", toPath: shared)
        try FileManager.default.createSymbolicLink(atPath: project + "/greet.h", withDestinationPath: shared)
        let build = try await cp(["graph", "build", "--project", project])
        #expect(build.status == 0, "\(build.stderr)")
        #expect(Set(ran(build.stderr)) == ["greet.o", "hello.o", "hello"])
        // The link pointed at another file: what reads it runs again.
        let other = directory.file("shared/greet-v2.h")
        try (try String(contentsOfFile: shared, encoding: .utf8) + "/* version 2 */\n").write(
            toFile: other, atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: project + "/greet.h")
        try FileManager.default.createSymbolicLink(atPath: project + "/greet.h", withDestinationPath: other)
        let again = try await cp(["graph", "build", "--project", project])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(Set(ran(again.stderr)) == ["greet.o", "hello.o"], "\(again.stderr)")
    }
}

/// Ctrl-C during `cp graph build`: the role group's one signal handler.
@Suite(.serialized) struct GraphBuildInterruptionTests {
    /// A project whose one task ignores SIGTERM and SIGINT and waits, with its pid in `job.pid`.
    func stubbornProject() throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory()
        try directory.write(
            "rules/hang.ryml",
            """
            rules:
              hang:
                dependencies: []
                outputs: []
                build: [sh, -c, "trap '' TERM INT; echo $$ > job.pid; exec sleep 60", "{{output}}"]
            """)
        try directory.write("p/in.txt", "x\n")
        try directory.write(
            "p/tasks.tyml", "tasks:\n  stuck: {rule: hang, dependencies: [in.txt], outputs: [out.txt]}\n")
        return (directory, directory.file("p"))
    }

    func startBuild(_ directory: TemporaryDirectory, _ project: String) async throws -> (ChildProcess, pid_t) {
        let build = try await ChildProcess.spawn(
            cpBinary, ["graph", "build", "--project", project, "--rules", directory.file("rules")],
            stdoutPath: directory.file("out"), stderrPath: directory.file("err"))
        try await waitUntil(deadline: .seconds(30), "the task to start") {
            (try? String(contentsOfFile: project + "/job.pid", encoding: .utf8))?.hasSuffix("\n") == true
        }
        let text = try String(contentsOfFile: project + "/job.pid", encoding: .utf8)
        return (build, try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))))
    }

    @Test func oneSignalStopsTheBuildAndKillsItsTaskGroup() async throws {
        let (directory, project) = try stubbornProject()
        defer { directory.remove() }
        let (build, job) = try await startBuild(directory, project)
        build.send(signal: SIGINT)
        #expect(try await build.waitForExit(deadline: .seconds(30)) == .exited(130))
        // The task ignored SIGTERM: it was killed after the grace, with nothing left behind.
        try await waitUntil(deadline: .seconds(10), "the task to be gone") { kill(job, 0) == -1 && errno == ESRCH }
        #expect(!FileManager.default.fileExists(atPath: project + "/out.txt"))
    }

    @Test func aSecondSignalEndsTheBuildAtOnceAndTakesItsTasksAlong() async throws {
        let (directory, project) = try stubbornProject()
        defer { directory.remove() }
        let (build, job) = try await startBuild(directory, project)
        build.send(signal: SIGTERM)
        // Two signals sent together may arrive as one: the second once the first is handled.
        try await waitUntil(deadline: .seconds(20), "the first signal to be handled") {
            readTail(of: directory.file("err")).contains("stopping (interrupt again to stop at once)")
        }
        build.send(signal: SIGTERM)
        #expect(try await build.waitForExit(deadline: .seconds(30)) == .exited(130))
        try await waitUntil(deadline: .seconds(10), "the task to be gone") { kill(job, 0) == -1 && errno == ESRCH }
    }
}
