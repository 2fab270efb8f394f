import Foundation
import TestSupport
import Testing

/// `cp graph` on project directories: check, export in three formats, cycles, errors.
@Suite struct GraphEndToEndTests {
    /// The repository's root: the nearest directory above the binary with a Package.swift.
    static let repository: String = {
        var directory = URL(fileURLWithPath: cpBinary).deletingLastPathComponent()
        while directory.path != "/" && !FileManager.default.fileExists(atPath: directory.path + "/Package.swift") {
            directory.deleteLastPathComponent()
        }
        return directory.path
    }()

    /// A small LaTeX-shaped project with its own rules: a genuine cycle through secondary inputs.
    func latexProject() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write(
            "rules/latex.ryml",
            """
            types:
              tex: { extensions: ["*.tex"] }
              aux: { extensions: ["*.aux"] }
              pdf: { extensions: ["*.pdf"] }
              bbl: { extensions: ["*.bbl"] }
            rules:
              pdflatex: { dependencies: [tex], secondaryDependencies: [aux], outputs: [pdf, aux], build: [pdflatex, "{{input}}"] }
              bibtex: { dependencies: [aux], outputs: [bbl], build: [bibtex, "{{input}}"] }
            """)
        try directory.write(
            "project/tasks.tyml",
            """
            tasks:
              paper:
                rule: pdflatex
                dependencies: [paper.tex]
                secondaryDependencies: [paper.aux, paper.bbl]
                outputs: [paper.pdf, paper.aux]
              bibliography:
                rule: bibtex
                dependencies: [paper.aux, refs.bib]
                outputs: [paper.bbl]
            """)
        try directory.write(
            "project/project.pyml", "projects:\n  paper:\n    targets:\n      pdf:\n        outputs: [paper.pdf]\n")
        try directory.write("project/paper.tex", "\\documentclass{article}\n")
        try directory.write("project/refs.bib", "")
        return directory
    }

    @Test func checkSummarisesAValidProject() async throws {
        let directory = try latexProject()
        defer { directory.remove() }
        let result = try await cp([
            "graph", "check", "--project", directory.file("project"), "--rules", directory.file("rules"),
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2 tasks, 5 artefacts, 1 components (1 cyclic), 1 goals"))
    }

    @Test func cyclesNameTheTasksAndTheArtefactsThatCloseThem() async throws {
        let directory = try latexProject()
        defer { directory.remove() }
        let result = try await cp([
            "graph", "cycles", "--project", directory.file("project"), "--rules", directory.file("rules"),
        ])
        #expect(result.status == 0)
        #expect(result.stdout == "cycle 1: paper (pdflatex), bibliography (bibtex); through paper.aux, paper.bbl\n")
    }

    @Test func theFormatWordMayStandBeforeOrAfterTheVerb() async throws {
        let directory = try latexProject()
        defer { directory.remove() }
        let common = ["--project", directory.file("project"), "--rules", directory.file("rules")]
        let before = try await cp(["graph", "dot", "export"] + common)
        let after = try await cp(["graph", "export", "dot"] + common)
        let option = try await cp(["graph", "export", "--format", "dot"] + common)
        let implicit = try await cp(["graph"] + common)
        #expect(before.status == 0 && before.stdout.hasPrefix("digraph cp {"))
        #expect(after.stdout == before.stdout && option.stdout == before.stdout && implicit.stdout == before.stdout)
        let json = try await cp(["graph", "json"] + common)
        #expect(json.status == 0 && json.stdout.contains("\"cyclic\" : true"))
        let mermaid = try await cp(["graph", "export", "--format", "mermaid"] + common)
        #expect(mermaid.status == 0 && mermaid.stdout.hasPrefix("flowchart LR"))
    }

    @Test func exportWritesAFileThatGraphvizDraws() async throws {
        let directory = try latexProject()
        defer { directory.remove() }
        let output = directory.file("graph.dot")
        let result = try await cp(
            [
                "graph", "export", "-o", output, "--project", directory.file("project"), "--rules",
                directory.file("rules"),
            ])
        #expect(result.status == 0 && result.stdout.isEmpty)
        let drawn = try await runProcess("dot", ["-Tsvg", output])
        #expect(drawn.status == 0, "\(drawn.stderr)")
        #expect(drawn.stdout.contains("cluster_1"))
    }

    @Test func aBrokenDefinitionIsOneLocatedLineAndExitOne() async throws {
        let directory = try latexProject()
        defer { directory.remove() }
        try directory.write("project/more.tyml", "tasks:\n  extra:\n    rule: pdflatx\n    dependencies: [x.tex]\n")
        let result = try await cp([
            "graph", "check", "--project", directory.file("project"), "--rules", directory.file("rules"),
        ])
        #expect(result.status == 1)
        #expect(
            result.stderr
                == "cp: graph: tasks '\(directory.file("project"))/more.tyml' line 3, column 11: unknown rule 'pdflatx' in task 'extra' (did you mean 'pdflatex'?); known rules: bibtex, pdflatex\n"
        )
        #expect(result.stdout.isEmpty)
        let escaping = try await cp([
            "graph", "check", "--project", directory.file("nowhere"), "--rules", directory.file("rules"),
        ])
        #expect(escaping.status == 1 && escaping.stderr.contains("not a directory"))
    }

    @Test(arguments: ["thesis", "thesis-biber", "c-tree"])
    func inferredTasksWrittenOutAreTheSameProject(example: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let project = directory.file(example)
        try FileManager.default.copyItem(atPath: Self.repository + "/examples/" + example, toPath: project)
        let body = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("#") } }
        let inferred = try await cp(["graph", "tasks", "--project", project])
        #expect(inferred.status == 0 && inferred.stdout.hasPrefix("# Tasks inferred from the files of"))
        let cycles = try await cp(["graph", "cycles", "--project", project])
        let written = try await cp(["graph", "tasks", "--project", project, "-o", project + "/tasks.tyml"])
        #expect(written.status == 0, "\(written.stderr)")
        let reread = try await cp(["graph", "tasks", "--project", project])
        #expect(reread.stdout.hasPrefix("# The tasks of"), "\(reread.stdout)")
        #expect(body(reread.stdout) == body(inferred.stdout) && body(inferred.stdout).count > 3)
        #expect(try await cp(["graph", "cycles", "--project", project]).stdout == cycles.stdout)
        #expect(try await cp(["graph", "check", "--project", project]).status == 0)
    }

    @Test func aDirectoryWithoutDefinitionsIsRefusedAndLeftAlone() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try directory.write("wrong/notes.txt", "not a project")
        let build = try await cp(["graph", "build", "--project", directory.file("wrong")])
        #expect(build.status == 1)
        #expect(
            build.stderr
                == "cp: graph: project '\(directory.file("wrong"))': no tasks (*.tyml) or projects (*.pyml) in it, and no LaTeX document (a top-level .tex with \\documentclass) or C program (a .c defining main) to infer tasks from: is it the project's directory?\n"
        )
        #expect(!FileManager.default.fileExists(atPath: directory.file("wrong/.cp")))  // nothing written
    }

    @Test func theBundledRulesLoadTheBundledExamples() async throws {
        for (example, cycles) in [
            ("c-hello", "no cycles\n"), ("latex-paper", "cycle 1: paper (pdflatex), bibliography (bibtex)"),
        ] {
            let project = Self.repository + "/examples/" + example
            let check = try await cp(["graph", "check", "--project", project])
            #expect(check.status == 0, "\(example): \(check.stderr)")
            let found = try await cp(["graph", "cycles", "--project", project])
            #expect(found.stdout.hasPrefix(cycles), "\(example): \(found.stdout)")
        }
    }

    @Test func aTargetLimitsTheGoalsAndAnUnknownOneIsNamed() async throws {
        let directory = try latexProject()
        defer { directory.remove() }
        let common = ["--project", directory.file("project"), "--rules", directory.file("rules")]
        let plan = try await cp(["graph", "plan", "--target", "pdf"] + common)
        #expect(plan.status == 0 && plan.stdout.contains("paper [pdflatex]: will run: never built"))
        let unknown = try await cp(["graph", "plan", "--target", "html"] + common)
        #expect(unknown.status == 1, "\(unknown.stderr)")
        #expect(unknown.stderr.hasSuffix("no target 'html'; targets: pdf\n"))
        // The state file exists now, so it is read ahead while the load fails. Once, in a full
        // suite, this did not exit 1 (status unrecorded); the likely cause, a process exiting
        // under the reading thread, is closed by `State.finish`.
        for _ in 0..<5 {
            let build = try await cp(["graph", "build", "html"] + common)
            #expect(build.status == 1 && build.stderr.contains("no target 'html'"), "\(build.status): \(build.stderr)")
        }
    }

    @Test func whyOfAnUnknownPathIsOneLineAndExitOne() async throws {
        let directory = try latexProject()
        defer { directory.remove() }
        let result = try await cp(
            ["graph", "why", "nothing.pdf", "--project", directory.file("project"), "--rules", directory.file("rules")])
        #expect(result.status == 1)
        #expect(result.stderr == "cp: graph: 'nothing.pdf' is not in the graph (no task reads or writes it)\n")
    }
}
