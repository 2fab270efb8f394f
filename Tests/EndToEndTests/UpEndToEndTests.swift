import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `cp up` as a user runs it: the whole system in one process on a copy of an example, with
/// `cp ctrl` beside it.
@Suite(.serialized) struct UpEndToEndTests {
    /// A `cp up` running in the background, its stdout and stderr in files.
    struct RunningUp {
        let child: ChildProcess
        let out: String
        let err: String

        static func start(_ directory: String, _ scratch: TemporaryDirectory, extra: [String] = []) async throws
            -> RunningUp
        {
            let out = scratch.file("up.out")
            let err = scratch.file("up.err")
            let child = try await ChildProcess.spawn(
                cpBinary, ["up", directory] + extra, stdoutPath: out, stderrPath: err)
            return RunningUp(child: child, out: out, err: err)
        }

        /// The summary lines so far, one per build.
        var summaries: [String] {
            readTail(of: out, maxBytes: 1 << 20).split(separator: "\n").map(String.init).filter {
                $0.hasPrefix("build ")
            }
        }

        var stderr: String { readTail(of: err, maxBytes: 1 << 22) }

        /// Waits for summary number `count` (from 1) and returns it.
        @discardableResult
        func summary(_ count: Int, _ what: String) async throws -> String {
            try await waitUntil(deadline: .seconds(120), "summary \(count): \(what)\n\(stderr)") {
                summaries.count >= count || !child.isRunning
            }
            let all = summaries
            try #require(all.count >= count, "cp up ended: \(stderr)")
            return all[count - 1]
        }

        /// Stops it with Ctrl-C and checks that its nats-server went with it.
        func interrupt(_ directory: String) async throws {
            let server = try #require(natsServerPid(directory))
            child.send(signal: SIGINT)
            #expect(try await child.waitForExit(deadline: .seconds(60)) == .exited(130), "\(stderr)")
            #expect(kill(server, 0) == -1 && errno == ESRCH, "nats-server \(server) is left behind")
        }
    }

    /// The pid of the last nats-server a `cp up` on `directory` started (from its log).
    static func natsServerPid(_ directory: String) -> pid_t? {
        let log = readTail(of: directory + "/.cp/nats/nats.log", maxBytes: 1 << 20)
        guard let ready = log.split(separator: "\n").last(where: { $0.contains("Server is ready") }),
            ready.hasPrefix("["), let end = ready.firstIndex(of: "]")
        else { return nil }
        return pid_t(ready[ready.index(after: ready.startIndex)..<end])
    }

    /// How many runs of `task` stderr reports (`cp: up: run TASK …`).
    static func runs(of task: String, in stderr: Substring) -> Int {
        stderr.split(separator: "\n").filter { $0.hasPrefix("cp: up: run \(task) ") }.count
    }

    func paper(in scratch: TemporaryDirectory) throws -> String {
        try MajorDomoEndToEndTests().example("latex-paper", in: scratch)
    }

    /// The text of a PDF (pdftotext), which does not hold its timestamps.
    static func text(ofPDF path: String) async throws -> String {
        let result = try await runProcess("/usr/bin/pdftotext", [path, "-"])
        try #require(result.status == 0, "pdftotext: \(result.stderr) (apt-get install poppler-utils)")
        return result.stdout
    }

    /// The text with every run of white space one space.
    static func words(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test func onceBuildsTheLaTeXExampleThenNothingRerunsAndNothingIsLeftRunning() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let paper = try paper(in: scratch)
        let first = try await cp(["up", "--once", paper])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("open http://127.0.0.1:") == true, "\(first.stdout)")
        #expect(lines.contains { $0.contains("succeeded: 5 task runs (3 passes) in ") }, "\(first.stdout)")
        #expect(lines.last == "built \(paper)/paper.pdf", "\(first.stdout)")
        #expect(Self.runs(of: "paper", in: first.stderr[...]) == 3, "\(first.stderr)")
        #expect(Self.runs(of: "bibliography", in: first.stderr[...]) == 2, "\(first.stderr)")
        #expect(try await Self.text(ofPDF: paper + "/paper.pdf").contains("Feldman"))
        let server = try #require(Self.natsServerPid(paper))
        #expect(kill(server, 0) == -1 && errno == ESRCH, "nats-server \(server) is left behind")

        let again = try await cp(["up", "--once", paper])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("succeeded: up to date"), "\(again.stdout)")
        #expect(!again.stderr.contains("cp: up: run "), "\(again.stderr)")
    }

    @Test func onceBuildsAThesisWithNoDefinitionFilesAndAChapterEditRerunsIt() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let thesis = try MajorDomoEndToEndTests().example("thesis", in: scratch)
        let first = try await cp(["up", "--once", thesis])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("built \(thesis)/thesis.pdf"), "\(first.stdout)")
        #expect(Self.runs(of: "thesis-index", in: first.stderr[...]) == 1, "\(first.stderr)")
        #expect(try await Self.text(ofPDF: thesis + "/thesis.pdf").contains("Literate programming"))
        let chapter = thesis + "/chapters/results.tex"
        let text = try String(contentsOfFile: chapter, encoding: .utf8)
        try text.replacingOccurrences(of: "three passes", with: "four passes").write(
            toFile: chapter, atomically: false, encoding: .utf8)
        let again = try await cp(["up", "--once", thesis])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(
            again.stderr.contains("cp: up: run thesis [pdflatex]: input 'chapters/results.tex' changed (discovered)"),
            "\(again.stderr)")
        #expect(try await Self.text(ofPDF: thesis + "/thesis.pdf").contains("four passes"))
    }

    /// Watch mode: each save is built (only what it reaches), a burst of writes is one build,
    /// the build's own outputs start none, an edit during a build supersedes it, `cp ctrl`
    /// inside the directory finds this MajorDomo, a second `cp up` is refused, and Ctrl-C
    /// stops everything.
    @Test func watchModeRebuildsWhatEachSaveReaches() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let paper = try paper(in: scratch)
        let up = try await RunningUp.start(paper, scratch)
        #expect(try await up.summary(1, "the first build").contains("succeeded: 5 task runs (3 passes)"))

        let second = try await cp(["up", "--once", paper])
        #expect(second.status == 1)
        #expect(second.stderr == "cp: up: another 'cp up' runs on '\(paper)' (pid \(up.child.pid))\n")

        // cp ctrl, run inside the directory, talks to this cp up; its status follows the build.
        let build = try await cp(["ctrl", "build"], in: paper)
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.stderr.contains("succeeded: up to date"), "\(build.stderr)")
        #expect(try await up.summary(2, "the requested build").contains("up to date"))

        // A comment in refs.bib: bibtex reruns, its .bbl is the same, so pdflatex does not.
        var mark = up.stderr.count
        try appendLine("% a comment\n", to: paper + "/refs.bib")
        let comment = try await up.summary(3, "the comment's build")
        #expect(
            comment.contains("succeeded: 1 task run in") && comment.hasSuffix("after refs.bib changed"),
            "\(up.summaries)")
        #expect(Self.runs(of: "bibliography", in: up.stderr.dropFirst(mark)) == 1)
        #expect(Self.runs(of: "paper", in: up.stderr.dropFirst(mark)) == 0)

        // Twenty writes at once: one build, which puts the new title in the PDF.
        mark = up.stderr.count
        let bib = try String(contentsOfFile: paper + "/refs.bib", encoding: .utf8)
        for index in 1...20 {
            try bib.replacingOccurrences(of: "Build Systems", with: "Build Systems Rewritten \(index)")
                .write(toFile: paper + "/refs.bib", atomically: false, encoding: .utf8)
        }
        let burst = try await up.summary(4, "the burst's build")
        #expect(burst.contains("succeeded:") && burst.hasSuffix("after refs.bib changed"), "\(up.summaries)")
        #expect(Self.runs(of: "paper", in: up.stderr.dropFirst(mark)) >= 1)
        let burstText = try await Self.text(ofPDF: paper + "/paper.pdf")
        #expect(Self.words(burstText).contains("rewritten 20"), "bibtex lowercases titles: \(burstText)")

        // An edit while pdflatex runs supersedes that build; the last build has the last text.
        mark = up.stderr.count
        let tex = try String(contentsOfFile: paper + "/paper.tex", encoding: .utf8)
        let body = try #require(tex.range(of: "\\end{document}"))
        var edited = tex
        edited.replaceSubrange(body, with: "First edit.\n\\end{document}")
        try edited.write(toFile: paper + "/paper.tex", atomically: false, encoding: .utf8)
        try await waitUntil(deadline: .seconds(60), "pdflatex to start on the first edit") {
            Self.runs(of: "paper", in: up.stderr.dropFirst(mark)) >= 1
        }
        edited = tex
        edited.replaceSubrange(body, with: "Second edit.\n\\end{document}")
        try edited.write(toFile: paper + "/paper.tex", atomically: false, encoding: .utf8)
        try await waitUntil(deadline: .seconds(120), "a build with the second edit") {
            up.summaries.count >= 6 && up.summaries.last?.contains("succeeded") == true
        }
        let text = try await Self.text(ofPDF: paper + "/paper.pdf")
        #expect(text.contains("Second edit.") && !text.contains("First edit."), "\(text)")
        // The burst was one build: the next one is the edit's.
        #expect(up.summaries[4].hasSuffix("after paper.tex changed"), "\(up.summaries)")

        // The same sources built from scratch give the same files.
        let clean = scratch.file("clean")
        try FileManager.default.createDirectory(atPath: clean, withIntermediateDirectories: true)
        for file in ["paper.tex", "refs.bib", "tasks.tyml", "project.pyml"] {
            try FileManager.default.copyItem(atPath: paper + "/" + file, toPath: clean + "/" + file)
        }
        let rebuilt = try await cp(["graph", "build", "--project", clean])
        #expect(rebuilt.status == 0, "\(rebuilt.stderr)")
        for file in ["paper.aux", "paper.bbl", "paper.toc"] {
            #expect(
                FileManager.default.contents(atPath: paper + "/" + file)
                    == FileManager.default.contents(atPath: clean + "/" + file), "\(file) differs from a clean build's")
        }
        #expect(try await Self.text(ofPDF: clean + "/paper.pdf") == text)

        // Every build came from the start, the request or an edit: none from the outputs.
        struct Build: Decodable { var trigger: String; var state: String }
        let status = try await cp(["ctrl", "--json", "status"], in: paper)
        let builds = try JSONDecoder().decode([Build].self, from: Data(status.stdout.utf8)).reversed()
        #expect(builds.map(\.trigger).prefix(4) == ["cp up", "request", "change", "change"], "\(builds)")
        #expect(builds.dropFirst(4).allSatisfy { $0.trigger == "change" }, "\(builds)")
        #expect(builds.count <= 7, "two edits make at most a superseded build and its successor: \(builds)")
        try await up.interrupt(paper)
    }

    /// Early cutoff under `cp up`: a comment-only edit of a header recompiles both objects,
    /// which come out byte-identical, so the program is not linked again.
    @Test func aCommentInAHeaderRecompilesWithoutRelinking() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let hello = try MajorDomoEndToEndTests().example("c-hello", in: scratch)
        let up = try await RunningUp.start(hello, scratch)
        #expect(try await up.summary(1, "the first build").contains("succeeded: 3 task runs in"))
        let mark = up.stderr.count
        let header = try String(contentsOfFile: hello + "/greet.h", encoding: .utf8)
        try header.replacingOccurrences(of: "the greeting used", with: "the greeting, as used")
            .write(toFile: hello + "/greet.h", atomically: true, encoding: .utf8)
        let edit = try await up.summary(2, "the header's build")
        #expect(edit.contains("succeeded: 2 task runs in") && edit.hasSuffix("after greet.h changed"), "\(edit)")
        let ran = up.stderr.dropFirst(mark)
        #expect(Self.runs(of: "hello.o", in: ran) == 1 && Self.runs(of: "greet.o", in: ran) == 1, "\(ran)")
        #expect(Self.runs(of: "hello", in: ran) == 0, "\(ran)")
        try await up.interrupt(hello)
    }

    /// Ctrl-C while a job runs (one that ignores SIGTERM): cp up exits 130 and leaves neither
    /// the job nor its nats-server behind.
    @Test func interruptedMidJobLeavesNoProcessBehind() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try scratch.write(
            "rules/hang.ryml",
            """
            rules:
              hang:
                dependencies: []
                outputs: []
                build: [sh, -c, "trap '' TERM INT; echo $$ > job.pid; exec sleep 300", "{{output}}"]
            """)
        try scratch.write("p/in.txt", "x\n")
        try scratch.write("p/tasks.tyml", "tasks:\n  stuck: {rule: hang, dependencies: [in.txt], outputs: [out.txt]}\n")
        let project = scratch.file("p")
        let up = try await RunningUp.start(project, scratch, extra: ["--rules", scratch.file("rules")])
        try await waitUntil(deadline: .seconds(60), "the job to start\n\(up.stderr)") {
            (try? String(contentsOfFile: project + "/job.pid", encoding: .utf8))?.hasSuffix("\n") == true
        }
        let text = try String(contentsOfFile: project + "/job.pid", encoding: .utf8)
        let job = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        try await up.interrupt(project)
        try await waitUntil(deadline: .seconds(10), "the job to be gone") { kill(job, 0) == -1 && errno == ESRCH }
    }

    /// `cp ctrl` against a `cp up`: `log -f` prints a task's lines as they come, `build` exits
    /// with the build's status and shows a failed task's output, Ctrl-C cancels the build.
    @Test func ctrlFollowsLogsAndBuildsOfARunningUp() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try scratch.write(
            "rules/steps.ryml",
            """
            rules:
              gated:
                dependencies: []
                outputs: []
                build: [sh, -c, "echo first line; while [ ! -e release ]; do sleep 0.02; done; echo second line; echo ok > \\"$0\\"", "{{output}}"]
              broken:
                dependencies: []
                outputs: []
                build: [sh, -c, "echo 'here is the first error'; exit 3"]
            """)
        try scratch.write("p/in.txt", "x\n")
        try scratch.write(
            "p/tasks.tyml",
            "tasks:\n  gate: {rule: gated, dependencies: [in.txt], outputs: [gate.txt]}\n")
        let project = scratch.file("p")
        let up = try await RunningUp.start(project, scratch, extra: ["--rules", scratch.file("rules")])
        try await waitUntil(deadline: .seconds(60), "the gated job to start\n\(up.stderr)") {
            up.stderr.contains("cp: up: run gate ")
        }
        struct Build: Decodable { var id: String; var state: String }
        let listed = try await cp(["ctrl", "--json", "status"], in: project)
        let id = try #require(try JSONDecoder().decode([Build].self, from: Data(listed.stdout.utf8)).first?.id)
        let follow = try await ChildProcess.spawn(
            cpBinary, ["ctrl", "--socket", project + "/.cp/majordomo.sock", "log", "-f", id, "gate"],
            stdoutPath: scratch.file("follow.out"), stderrPath: scratch.file("follow.err"))
        try await waitUntil(deadline: .seconds(30), "the first line while the job still runs") {
            readTail(of: scratch.file("follow.out")).contains("first line")
        }
        #expect(follow.isRunning && !readTail(of: scratch.file("follow.out")).contains("second line"))
        try scratch.write("p/release", "")
        #expect(
            try await follow.waitForExit(deadline: .seconds(60)) == .exited(0),
            "\(readTail(of: scratch.file("follow.err")))")
        #expect(readTail(of: scratch.file("follow.out")) == "first line\nsecond line\n")
        try await up.summary(1, "the gated build")

        // A failing task: exit 1, its output's tail and the failure said.
        try scratch.write(
            "p/tasks.tyml",
            "tasks:\n  gate: {rule: gated, dependencies: [in.txt], outputs: [gate.txt]}\n"
                + "  bad: {rule: broken, dependencies: [in.txt], outputs: [bad.txt]}\n")
        try await up.summary(2, "the build after the definitions changed")
        let failing = try await cp(["ctrl", "build"], in: project)
        #expect(failing.status == 1, "\(failing.stderr)")
        #expect(failing.stderr.contains("cp: ctrl: task 'bad' failed"), "\(failing.stderr)")
        #expect(failing.stderr.contains("  here is the first error\n"), "\(failing.stderr)")
        #expect(
            failing.stderr.split(separator: "\n").last?.hasPrefix("cp: ctrl: build ") == true
                && failing.stderr.split(separator: "\n").last?.contains(" failed: ") == true, "\(failing.stderr)")

        // A build waiting on the gate is cancelled from the command line.
        let before = up.summaries.count
        let gateRuns = Self.runs(of: "gate", in: up.stderr[...])
        try FileManager.default.removeItem(atPath: project + "/release")
        try scratch.write("p/in.txt", "y\n")
        try await waitUntil(deadline: .seconds(60), "the gated job to start again") {
            Self.runs(of: "gate", in: up.stderr[...]) > gateRuns
        }
        let running = try await cp(["ctrl", "--json", "status"], in: project)
        let current = try #require(try JSONDecoder().decode([Build].self, from: Data(running.stdout.utf8)).first)
        #expect(current.state == "running")
        let cancel = try await cp(["ctrl", "cancel", current.id], in: project)
        #expect(cancel.status == 0 && cancel.stdout == "build \(current.id) cancelled\n", "\(cancel)")
        #expect(try await up.summary(before + 1, "the cancelled build").contains(" cancelled: "))

        // Ctrl-C of 'cp ctrl build' cancels its build on the MajorDomo, and exits 130.
        let requested = up.summaries.count
        let build = try await ChildProcess.spawn(
            cpBinary, ["ctrl", "--socket", project + "/.cp/majordomo.sock", "build", "-p", "p"],
            stdoutPath: scratch.file("ctrl.out"), stderrPath: scratch.file("ctrl.err"))
        try await waitUntil(deadline: .seconds(60), "the requested build to start") {
            readTail(of: scratch.file("ctrl.err")).contains(" started\n")
        }
        build.send(signal: SIGINT)
        #expect(try await build.waitForExit(deadline: .seconds(60)) == .exited(130))
        #expect(readTail(of: scratch.file("ctrl.err")).contains("cp: ctrl: cancelling build "))
        let interrupted = try await up.summary(requested + 1, "the interrupted build")
        #expect(interrupted.contains(" cancelled: "), "\(interrupted)")
        try await up.interrupt(project)
    }

    /// `cp up --hub`: a Chef on another pod, behind a leaf-node server of its own, joins with
    /// --nats-domain and takes the job the hub's own Chef has no slot for, fetching its input
    /// by SFTP from --sftp and putting its output back.
    @Test func upAsAHubSharesJobsWithAChefOnALeafNode() async throws {
        try await withSSHServer { ssh in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let release = scratch.file("release")
            try scratch.write(
                "rules/steps.ryml",
                """
                rules:
                  gated:
                    dependencies: []
                    outputs: []
                    build: [sh, -c, "while [ ! -e '\(release)' ]; do sleep 0.02; done; cat \\"$1\\" > \\"$0\\"", "{{output}}", "{{input}}"]
                """)
            try scratch.write("p/a.txt", "from a\n")
            try scratch.write("p/b.txt", "from b\n")
            try scratch.write(
                "p/tasks.tyml",
                """
                tasks:
                  one: {rule: gated, dependencies: [a.txt], outputs: [one.txt]}
                  two: {rule: gated, dependencies: [b.txt], outputs: [two.txt]}
                """)
            let project = scratch.file("p")
            let up = try await RunningUp.start(
                project, scratch,
                extra: [
                    "--rules", scratch.file("rules"), "-j", "1", "--hub", "127.0.0.1:0", "--sftp",
                    "\(ssh.user)@127.0.0.1:\(ssh.port)",
                ])
            var leafURL = ""
            try await waitUntil(deadline: .seconds(60), "cp up to say where leaf nodes join\n\(up.stderr)") {
                let out = readTail(of: up.out)
                guard let range = out.range(of: "hub: leaf nodes join at ") else { return !up.child.isRunning }
                leafURL = String(out[range.upperBound...].prefix { $0 != ";" })
                return true
            }
            #expect(leafURL.hasPrefix("nats-leaf://127.0.0.1:"), "\(readTail(of: up.out))")
            try await withNATSServer(leafOf: [leafURL]) { leaf in
                let chef = try await ChildProcess.spawn(
                    cpBinary,
                    [
                        "chef", "--nats-url", leaf.url, "--nats-domain", "hub", "--name", "far", "--pod", "b", "-j",
                        "1", "--rules", scratch.file("rules"), "--work-dir", scratch.file("work-b"), "--identity",
                        ssh.clientKeyPath, "--known-hosts", ssh.knownHostsPath,
                    ], stdoutPath: scratch.file("chef.out"), stderrPath: scratch.file("chef.err"))
                try await waitUntil(deadline: .seconds(60), "both jobs to run, one on each Chef\n\(up.stderr)") {
                    up.stderr.contains("cp: up: run one ") && up.stderr.contains("cp: up: run two ")
                }
                try scratch.write("release", "")
                let summary = try await up.summary(1, "the build")
                #expect(
                    summary.contains("succeeded"), "\(summary) \(up.stderr) \(readTail(of: scratch.file("chef.err")))")
                let done = up.stderr.split(separator: "\n").filter { $0.hasPrefix("cp: up: done ") }
                #expect(done.count == 2 && done.filter { $0.contains(" on far ") }.count == 1, "\(done)")
                #expect(try String(contentsOfFile: project + "/one.txt", encoding: .utf8) == "from a\n")
                #expect(try String(contentsOfFile: project + "/two.txt", encoding: .utf8) == "from b\n")
                chef.send(signal: SIGTERM)
                #expect(try await chef.waitForExit(deadline: .seconds(30)) == .exited(130))
            }
            try await up.interrupt(project)
        }
    }

    @Test func ctrlWithNoMajorDomoSaysHowToStartOne() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let socket = scratch.file("none.sock")
        let result = try await cp(["ctrl", "--socket", socket, "projects"])
        #expect(result.status == 1)
        #expect(
            result.stderr == "cp: ctrl: no MajorDomo at \(socket) — start one with 'cp majordomo serve' or 'cp up'\n")
    }

    private func appendLine(_ line: String, to path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(line.utf8))
        try handle.close()
    }
}
