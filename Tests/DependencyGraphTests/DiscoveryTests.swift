import ArtefactManager
import CPModel
import DependencyGraph
import Foundation
import Hashing
import RulesManager
import TestSupport
import Testing

/// Discovered dependencies (a rule's `discover`): the files a tool reports reading, read from
/// its `.fls` or depfile, recorded with the task and checked by the next build.
@Suite struct DiscoveryTests {
    /// The inputs `text` (as the file `name` in a project holding `files`) reports.
    func inputs(_ format: Discovery.Format, _ text: String, files: [String], name: String = "out.rec") throws
        -> [String]?
    {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for file in files { try directory.write(file, "x\n") }
        try directory.write(name, text.replacingOccurrences(of: "$ROOT", with: directory.path))
        return DiscoveryFile(format: format, path: name).inputs(in: directory.path)
    }

    @Test func aRecorderFileGivesWhatTheRunReadInsideTheProjectButNotWhatItWrote() throws {
        let fls = """
            PWD $ROOT
            INPUT /usr/share/texlive/texmf-dist/tex/latex/base/article.cls
            INPUT ./thesis.tex
            INPUT thesis.aux
            OUTPUT thesis.aux
            INPUT chapters/intro.tex
            INPUT $ROOT/chapters/method.tex
            INPUT ./chapters/../figures/plot.pdf
            INPUT chapters/intro.tex
            INPUT ../outside.tex
            INPUT gone.tex
            OUTPUT thesis.log
            OUTPUT thesis.pdf
            INPUT thesis.fls

            """
        let found = try inputs(
            .fls, fls,
            files: ["thesis.tex", "thesis.aux", "chapters/intro.tex", "chapters/method.tex", "figures/plot.pdf"],
            name: "thesis.fls")
        // Sorted, each once; TeX Live's class, the file outside, a file gone since and the
        // recorder file itself are not inputs. The .aux it read and wrote is.
        #expect(
            found == ["chapters/intro.tex", "chapters/method.tex", "figures/plot.pdf", "thesis.aux", "thesis.tex"])
    }

    @Test func aDepfileGivesThePrerequisitesWithEscapesContinuationsAndPhonyTargets() throws {
        let depfile = """
            obj/main.o: src/main.c include/greet.h /usr/include/stdio.h \\
             include/my\\ file.h include/price$$.h \\
              /usr/include/x86_64-linux-gnu/bits/types.h
            include/greet.h:
            include/my\\ file.h:

            """
        let found = try inputs(
            .depfile, depfile,
            files: ["src/main.c", "include/greet.h", "include/my file.h", "include/price$.h", "obj/main.o"])
        #expect(found == ["include/greet.h", "include/my file.h", "include/price$.h", "src/main.c"])
        // Several targets on one line, and an absolute path inside the project.
        let two = try inputs(.depfile, "a.o b.o: $ROOT/a.c a.h\n", files: ["a.c", "a.h", "a.o"])
        #expect(two == ["a.c", "a.h"])
    }

    @Test func filesOutsideTheProjectAreRecordedByAbsolutePathOnlyWhenAsked() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("p/a.c", "")
        try directory.write("sys/x.h", "")
        try directory.write("sys/y.h", "")
        let sys = directory.file("sys")
        try directory.write("p/a.d", "a.o: a.c ../sys/x.h \(sys)/./y.h /proc/self/status \(sys)/gone.h\n")
        let file = DiscoveryFile(format: .depfile, path: "a.d")
        let root = directory.file("p")
        #expect(file.inputs(in: root) == ["a.c"])
        // Normalised, existing files only; never the kernel's.
        #expect(file.inputs(in: root, system: true) == [sys + "/x.h", sys + "/y.h", "a.c"])
    }

    @Test func anUnreadableFileIsNilAndAnEmptyOneReadsNothing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(DiscoveryFile(format: .fls, path: "none.fls").inputs(in: directory.path) == nil)
        try directory.write("empty.d", "")
        #expect(DiscoveryFile(format: .depfile, path: "empty.d").inputs(in: directory.path) == [])
    }

    @Test func aRuleDeclaresItsDiscoveryAndMistakesAreNamed() throws {
        func book(_ discover: String) throws -> RuleBook {
            try RuleBook.parse(
                try YAMLLoader.parse(
                    """
                    types:
                      document: { extensions: ["*.tex"] }
                    rules:
                      typeset:
                        dependencies: [document]
                        outputs: ["%.pdf"]
                        build: [pdflatex, -recorder, "{{input}}"]
                        discover: \(discover)
                    """, file: "r.ryml", what: "rules"))
        }
        let rule = try #require(try book(#"{format: fls, file: "{{stem}}.fls"}"#).rules["typeset"])
        #expect(rule.discover?.format == .fls)
        let values = ArgvTemplate.Values(
            dependencies: ["thesis.tex"], secondaryDependencies: [], outputs: ["thesis.pdf"], stem: "thesis",
            mainFile: "thesis.tex", stage: Stage.path(task: "thesis"))
        #expect(rule.discover?.file(values) == DiscoveryFile(format: .fls, path: "thesis.fls"))
        func problem(_ discover: String) -> String {
            do {
                _ = try book(discover)
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(problem("{format: ninja, file: x}").contains("unknown discovery format 'ninja'"))
        #expect(problem("{format: fls, file: x}").contains("accepted"))
        #expect(problem("{format: fls}").contains("needs a 'file'"))
        #expect(problem("{file: x.d}").contains("needs a 'format'"))
        #expect(problem("{format: fls, file: \"{{nope}}\"}").contains("unknown placeholder '{{nope}}'"))
        #expect(problem("{format: fls, file: x, depth: 2}").contains("unknown key 'depth'"))
        #expect(problem("fls").contains("must be a map"))
    }

    /// One task `doc` reading `main.tex` and writing `main.pdf`, with a recorder file.
    func world() throws -> (BuildGraph, Components) {
        var graph = BuildGraph()
        let discovery = Discovery(format: .fls, file: try ArgvTemplate.parse(["{{stem}}.fls"]))
        graph.add(
            BuildGraph.Task(
                name: "doc", rule: "typeset", dependencies: [graph.intern("main.tex")], secondaryDependencies: [],
                outputs: [graph.intern("main.pdf")], build: try ArgvTemplate.parse(["tex", "{{input}}"]),
                discovery: discovery, stem: "main", mainFile: "main.tex",
                location: SourceLocation(file: "t", line: 1, column: 1), fromPattern: false))
        graph.goals = [graph.artefact("main.pdf")!]
        return (graph, Components(graph))
    }

    /// One build: the job run by writing the PDF, its tool having read `read`.
    func build(
        _ graph: BuildGraph, _ components: Components, _ store: BuildStateStore, _ files: MemoryFiles,
        discovered: [String]?
    ) -> [Scheduler.Job] {
        let scheduler = Scheduler(graph: graph, components: components, store: store, files: files)
        var ran: [Scheduler.Job] = []
        while case let jobs = scheduler.next(), !jobs.isEmpty {
            for job in jobs {
                ran.append(job)
                files.contents["main.pdf"] = "pdf of " + (files.contents["main.tex"] ?? "")
                scheduler.finished(job, succeeded: true, discovered: discovered)
            }
        }
        return ran
    }

    @Test func aDiscoveredInputIsRecordedAndItsChangeRerunsTheTaskSayingSo() throws {
        let (graph, components) = try world()
        let store = InMemoryBuildStateStore()
        let files = MemoryFiles()
        files.contents = ["main.tex": "\\input{intro}", "intro.tex": "Hello", "logo.pdf": "logo"]
        let first = build(graph, components, store, files, discovered: ["intro.tex", "main.tex", "main.pdf"])
        #expect(first.map(\.name) == ["doc"])
        #expect(first.first?.discovery == DiscoveryFile(format: .fls, path: "main.fls"))
        // What the task declares is not recorded twice.
        let digest = { (text: String) in try SHA256Hasher.digest(of: Array(text.utf8)) }
        #expect(store.records["doc"]?.discovered == [TaskRecord.File("intro.tex", try digest("Hello"))])
        #expect(try store.tasks(discovering: ["intro.tex", "other.tex"]) == ["doc"])
        #expect(try store.tasks(discovering: ["main.tex"]) == [])
        #expect(build(graph, components, store, files, discovered: ["intro.tex"]).isEmpty)
        // An edit to the chapter no definition names: the plan says why.
        files.contents["intro.tex"] = "Hello again"
        let plan = Scheduler(graph: graph, components: components, store: store, files: files).plan().text
        #expect(plan == "doc [typeset]: will run: input 'intro.tex' changed (discovered)\n")
        // It reran; the tool now reads a figure as well.
        #expect(
            build(graph, components, store, files, discovered: ["intro.tex", "logo.pdf"]).map(\.reason) == [
                "input 'intro.tex' changed (discovered)"
            ])
        #expect(store.records["doc"]?.discovered.map(\.path) == ["intro.tex", "logo.pdf"])
        files.contents["logo.pdf"] = nil
        #expect(
            Scheduler(graph: graph, components: components, store: store, files: files).plan().text
                == "doc [typeset]: will run: input 'logo.pdf' disappeared (discovered)\n")
        // A run whose tool reported nothing keeps what the last one discovered.
        _ = build(graph, components, store, files, discovered: nil)
        #expect(
            store.records["doc"]?.discovered == [
                TaskRecord.File("intro.tex", try digest("Hello again")), .init("logo.pdf", nil),
            ])
        files.contents["logo.pdf"] = "new logo"
        #expect(
            Scheduler(graph: graph, components: components, store: store, files: files).plan().text
                == "doc [typeset]: will run: input 'logo.pdf' appeared (discovered)\n")
    }

    @Test func aDiscoveredInputIsRecordedAsItWasWhenTheTaskWasHandedOut() throws {
        let (graph, components) = try world()
        let store = InMemoryBuildStateStore()
        let files = MemoryFiles()
        files.contents = ["main.tex": "main", "intro.tex": "one"]
        _ = build(graph, components, store, files, discovered: ["intro.tex"])
        files.contents["intro.tex"] = "two"
        let scheduler = Scheduler(graph: graph, components: components, store: store, files: files)
        let jobs = scheduler.next()
        #expect(jobs.map(\.reason) == ["input 'intro.tex' changed (discovered)"])
        // Edited again while the job runs: the record keeps "two", so the next build sees it.
        files.contents["intro.tex"] = "three"
        files.contents["main.pdf"] = "pdf"
        scheduler.finished(jobs[0], succeeded: true, discovered: ["intro.tex"])
        #expect(
            Scheduler(graph: graph, components: components, store: store, files: files).plan().text
                == "doc [typeset]: will run: input 'intro.tex' changed (discovered)\n")
    }

    @Test func aCycleGoesOnWhileADiscoveredFileItReadsAndWritesChanges() throws {
        // A document whose run reads and writes `ch.aux` (an \include'd chapter's), which
        // settles after its third run; the declared `main.aux` is the same from the first run.
        var graph = BuildGraph()
        let discovery = Discovery(format: .fls, file: try ArgvTemplate.parse(["{{stem}}.fls"]))
        let aux = graph.intern("main.aux")
        graph.add(
            BuildGraph.Task(
                name: "doc", rule: "typeset", dependencies: [graph.intern("main.tex")], secondaryDependencies: [aux],
                outputs: [graph.intern("main.pdf"), aux], build: try ArgvTemplate.parse(["tex", "{{input}}"]),
                discovery: discovery, stem: "main", mainFile: "main.tex",
                location: SourceLocation(file: "t", line: 1, column: 1), fromPattern: false))
        graph.goals = [graph.artefact("main.pdf")!]
        let components = Components(graph)
        let files = MemoryFiles()
        files.contents = ["main.tex": "main"]
        let store = InMemoryBuildStateStore()
        let scheduler = Scheduler(graph: graph, components: components, store: store, files: files)
        var runs = 0
        var reasons: [String] = []
        while case let jobs = scheduler.next(), !jobs.isEmpty {
            for job in jobs {
                runs += 1
                reasons.append(job.reason)
                files.contents["main.aux"] = "aux"
                files.contents["main.pdf"] = "pdf \(runs)"
                files.contents["ch.aux"] = "labels \(min(runs, 3))"
                scheduler.finished(job, succeeded: true, discovered: ["ch.aux", "main.aux", "main.tex"])
            }
        }
        #expect(scheduler.failures.isEmpty)
        #expect(runs == 4, "\(reasons)")
        #expect(
            reasons == [
                "never built", "input 'main.aux' appeared", "input 'ch.aux' changed (discovered)",
                "input 'ch.aux' changed (discovered)",
            ])
        #expect(scheduler.cycleProgress.first?.state == .converged && scheduler.cycleProgress.first?.pass == 4)
        // Settled: the next build runs nothing.
        let next = Scheduler(graph: graph, components: components, store: store, files: files)
        #expect(next.next().isEmpty && next.failures.isEmpty)
    }

    @Test func discoveredInputsSurviveTheStateFileAndOlderRecordsStillRead() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("state.db")
        let digest = { (text: String) in try SHA256Hasher.digest(of: Array(text.utf8)) }
        let with = TaskRecord(
            signature: try digest("s"), inputs: [.init("main.tex", try digest("m"))],
            outputs: [.init("main.pdf", try digest("p"))],
            discovered: [.init("ch 1.tex", try digest("c")), .init("gone.tex", nil)])
        let without = TaskRecord(
            signature: try digest("s"), inputs: [.init("a.c", try digest("a"))],
            outputs: [.init("a.o", try digest("o"))])
        do {
            let store = try SQLiteBuildStateStore(path: path)
            try store.save(with, of: "doc")
            try store.save(without, of: "compile:a.c")
        }
        let reopened = try SQLiteBuildStateStore(path: path)
        #expect(try reopened.record(of: "doc") == with)
        #expect(try reopened.record(of: "compile:a.c") == without)
        #expect(try reopened.tasks(discovering: ["gone.tex"]) == ["doc"])
        #expect(try reopened.tasks(discovering: ["a.c", "main.tex"]) == [])
    }

    @Test func theGraphCacheKeepsEachRulesDiscovery() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write(
            "rules/c.ryml",
            """
            types:
              cObject: { extensions: ["*.o"] }
              program: { extensions: [] }
            rules:
              compile:
                dependencies: ["%.c"]
                outputs: ["%.o"]
                build: [gcc, -MD, -MF, "{{stem}}.d", -c, -o, "{{output}}", "{{input}}"]
                discover: {format: depfile, file: "{{stem}}.d"}
              link: { dependencies: [cObject], outputs: [program], build: [gcc, -o, "{{output}}", "{{dependencies}}"] }
            """)
        try directory.write(
            "p/tasks.tyml", "tasks:\n  hello:\n    rule: link\n    dependencies: [src/main.o]\n    outputs: [hello]\n")
        try directory.write("p/src/main.c", "int main(void) { return 0; }\n")
        let root = directory.file("p")
        let first = try Project.load(root: root, rulePaths: [directory.file("rules")], useCache: true)
        let cached = try Project.load(root: root, rulePaths: [directory.file("rules")], useCache: true)
        #expect(!first.fromCache && cached.fromCache)
        for project in [first, cached] {
            let compile = try #require(project.graph.task(named: "compile:src/main.c"))
            #expect(project.graph.discoveryFile(of: compile) == DiscoveryFile(format: .depfile, path: "src/main.d"))
            #expect(project.graph.discoveryFile(of: try #require(project.graph.task(named: "hello"))) == nil)
        }
    }
}
