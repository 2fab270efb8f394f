import Foundation
import TestSupport
import Testing

/// Discovered dependencies with the real tools, through `cp graph build`: pdflatex's `-recorder`
/// file and gcc's depfile name what the definitions do not (chapters, a figure, headers), and
/// an edit to one of them reruns exactly what read it.
@Suite struct DiscoveryEndToEndTests {
    let suite = GraphBuildEndToEndTests()

    /// The TeX tools these tests run, each on the search path, or a failure naming its package.
    func requireTools() throws {
        let tools = [
            ("pdflatex", "texlive-latex-base"), ("bibtex", "texlive-binaries"), ("makeindex", "texlive-binaries"),
            ("latexmk", "latexmk"), ("xelatex", "texlive-xetex"), ("biber", "biber"), ("pdftotext", "poppler-utils"),
        ]
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        for (tool, package) in tools {
            try #require(
                path.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") },
                "\(tool) not found; install it with: apt-get install \(package) (make setup does)")
        }
        try #require(
            FileManager.default.fileExists(atPath: "/usr/share/texlive/texmf-dist/tex/latex/biblatex/biblatex.sty"),
            "biblatex not found; install it with: apt-get install texlive-bibtex-extra (make setup does)")
    }

    func edit(_ path: String, _ change: (String) -> String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = change(text)
        #expect(changed != text, "the edit of \(path) changed nothing")
        try changed.write(toFile: path, atomically: false, encoding: .utf8)
    }

    func text(_ pdf: String) async throws -> String { try await runProcess("pdftotext", [pdf, "-"]).stdout }

    @Test func aThesisChaptersFigureAndBibliographyRebuildWhatReadsThem() async throws {
        let (directory, project) = try suite.example("thesis")  // no definition file: inferred
        defer { directory.remove() }
        let first = try await cp(["graph", "build", "--project", project])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Set(suite.ran(first.stderr)) == ["thesis", "thesis-bibliography", "thesis-index"])
        let built = try await text(project + "/thesis.pdf")
        #expect(built.contains("Chapter 2 shows") && built.contains("Literate programming") && !built.contains("??"))
        #expect(try await cp(["graph", "build", "--project", project]).stderr.contains("up to date"))
        // What the engine recorded: chapters, the figure, the \include'd chapter's .aux; no TeX
        // Live file, no log.
        let plan = { try await cp(["graph", "plan", "--project", project]).stdout }
        try edit(project + "/chapters/introduction.tex") { $0.replacingOccurrences(of: "in passes", with: "in rounds") }
        #expect(
            try await plan().contains(
                "thesis [pdflatex]: will run: input 'chapters/introduction.tex' changed (discovered)"))
        let chapter = try await cp(["graph", "build", "--project", project])
        #expect(chapter.status == 0 && suite.ran(chapter.stderr).first == "thesis", "\(chapter.stderr)")
        #expect(!suite.ran(chapter.stderr).contains("thesis-bibliography"))  // the citations did not change
        #expect(try await text(project + "/thesis.pdf").contains("built in rounds"))
        // The figure: one run of pdflatex (nothing it writes changes).
        let figure = project + "/figures/passes.png"
        let png = try Data(contentsOf: URL(fileURLWithPath: figure))
        var other = png
        other[other.count - 20] ^= 0xFF
        try other.write(to: URL(fileURLWithPath: figure))
        #expect(try await plan().contains("input 'figures/passes.png' changed (discovered)"))
        let drawn = try await cp(["graph", "build", "--project", project])
        #expect(drawn.status == 0 && suite.ran(drawn.stderr) == ["thesis"], "\(drawn.stderr)")
        // The \include'd chapter: its figure moves two pages on. Its label is in the chapter's
        // own .aux (read back, written by the run), not in thesis.aux, which stays the same:
        // the passes go on because the discovered .aux changed, and the reference is right.
        try edit(project + "/chapters/results.tex") {
            $0.replacingOccurrences(
                of: "\\begin{figure}[h]", with: "\\clearpage\\mbox{}\\clearpage\n\\begin{figure}[h]")
        }
        let moved = try await cp(["graph", "build", "--project", project])
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(suite.ran(moved.stderr).filter { $0 == "thesis" }.count >= 2, "\(moved.stderr)")
        let after = try await text(project + "/thesis.pdf")
        #expect(after.contains("Figure 2.1 on page 5") && !after.contains("??"), "\(after)")
        // The bibliography database.
        try edit(project + "/refs.bib") { $0.replacingOccurrences(of: "Literate Programming", with: "Literate Builds") }
        let cited = try await cp(["graph", "build", "--project", project])
        #expect(cited.status == 0 && suite.ran(cited.stderr).first == "thesis-bibliography", "\(cited.stderr)")
        #expect(try await text(project + "/thesis.pdf").contains("Literate builds"))
        let nothing = try await cp(["graph", "build", "--project", project])
        #expect(nothing.status == 0 && suite.ran(nothing.stderr).isEmpty, "\(nothing.stderr)")
        // A system file (a TeX Live class) is never recorded: only the project's files are.
        let state = try await runProcess(
            "sqlite3", [project + "/.cp/state.db", "SELECT count(*) FROM tasks WHERE instr(files, '/usr/share') > 0"])
        #expect(state.stdout == "0\n", "\(state.stderr)")
        // Nor a log (.log, .blg, .ilg), nor the recorder file itself; the chapters are.
        let recorded = try await runProcess(
            "sqlite3",
            [
                project + "/.cp/state.db",
                "SELECT sum(instr(files, '.log') + instr(files, '.blg') + instr(files, '.ilg') + instr(files, '.fls')), "
                    + "sum(instr(files, 'chapters/introduction.tex') > 0) FROM tasks",
            ])
        #expect(recorded.stdout == "0|1\n", "\(recorded.stdout)\(recorded.stderr)")
    }

    @Test(arguments: [("thesis", "pdflatex", "-pdf"), ("thesis-biber", "xelatex", "-xelatex")])
    func aThesisTakesNoMoreEngineRunsThanLatexmkAndAnEditEndsAsACleanBuild(
        example: String, engine: String, latexmkFlag: String
    ) async throws {
        try requireTools()
        let (directory, project) = try suite.example(example)
        defer { directory.remove() }
        let build = try await cp(["graph", "build", "--project", project], deadline: .seconds(600))
        #expect(build.status == 0, "\(build.stderr)")
        let ours = suite.ran(build.stderr).filter { $0 == "thesis" }.count
        let peer = directory.file("latexmk-copy")
        try FileManager.default.copyItem(atPath: GraphEndToEndTests.repository + "/examples/" + example, toPath: peer)
        let latexmk = try await runProcess(
            "/bin/sh", ["-c", "cd \"$1\" && latexmk \(latexmkFlag) -interaction=nonstopmode thesis.tex", "sh", peer],
            deadline: .seconds(600))
        #expect(latexmk.status == 0, "\(latexmk.stderr)")
        let theirs = (latexmk.stdout + latexmk.stderr).split(separator: "\n")
            .filter { $0.contains("Run number") && $0.contains("rule '\(engine)'") }.count
        #expect(ours > 0 && theirs > 0 && ours <= theirs, "\(engine) runs: ours \(ours), latexmk's \(theirs)")
        let text = try await self.text(project + "/thesis.pdf")
        let peerText = try await self.text(peer + "/thesis.pdf")
        #expect(text == peerText && !text.contains("??") && !text.contains("[?]"))
        // An edit, built incrementally, ends as a clean build of the edited sources does.
        let chapter = try FileManager.default.contentsOfDirectory(atPath: project + "/chapters").sorted()[0]
        try edit(project + "/chapters/" + chapter) { $0.replacingOccurrences(of: "\\chapter{", with: "\\chapter{New ") }
        let edited = try await cp(["graph", "build", "--project", project], deadline: .seconds(600))
        #expect(edited.status == 0, "\(edited.stderr)")
        let clean = directory.file("clean")
        try FileManager.default.copyItem(atPath: project, toPath: clean)
        try FileManager.default.removeItem(atPath: clean + "/.cp")
        for file in try FileManager.default.contentsOfDirectory(atPath: clean)
        where !file.hasSuffix(".tex") && !file.hasSuffix(".bib") && file != "chapters" && file != "figures" {
            try FileManager.default.removeItem(atPath: clean + "/" + file)
        }
        let cleanBuild = try await cp(["graph", "build", "--project", clean], deadline: .seconds(600))
        #expect(cleanBuild.status == 0, "\(cleanBuild.stderr)")
        let incremental = try await self.text(project + "/thesis.pdf")
        let cleanText = try await self.text(clean + "/thesis.pdf")
        #expect(incremental.contains("New ") && incremental == cleanText)
    }

    @Test func aMissingFileOrAnErrorInTheSourceIsOneLineNamingIt() async throws {
        let (directory, project) = try suite.example("thesis")
        defer { directory.remove() }
        try edit(project + "/thesis.tex") {
            $0.replacingOccurrences(of: "\\input{chapters/introduction}", with: "\\input{chapters/missing}")
        }
        let missing = try await cp(["graph", "build", "--project", project], deadline: .seconds(600))
        #expect(missing.status == 1)
        #expect(
            missing.stderr.contains(
                "cp: graph: task 'thesis' failed: exit status 1: LaTeX Error: File `chapters/missing.tex' not found. "
                    + "(at l.14 \\input{chapters/missing})"), "\(missing.stderr)")
        try edit(project + "/thesis.tex") {
            $0.replacingOccurrences(of: "\\input{chapters/missing}", with: "\\input{chapters/introduction}")
        }
        try edit(project + "/chapters/results.tex") { $0.replacingOccurrences(of: "\\centering", with: "\\centred") }
        let undefined = try await cp(["graph", "build", "--project", project], deadline: .seconds(600))
        #expect(undefined.status == 1)
        #expect(
            undefined.stderr.contains(
                "task 'thesis' failed: exit status 1: ./chapters/results.tex:5: Undefined control sequence. (at l.5   \\centred)"
            ), "\(undefined.stderr)")
        // No half-written PDF is left as if it were built: the next build runs it again.
        try edit(project + "/chapters/results.tex") { $0.replacingOccurrences(of: "\\centred", with: "\\centering") }
        let fixed = try await cp(["graph", "build", "--project", project], deadline: .seconds(600))
        #expect(fixed.status == 0 && suite.ran(fixed.stderr).contains("thesis"), "\(fixed.stderr)")
    }

    /// A document that, once its first page is shipped out, waits for `release.txt`: while it
    /// waits, the engine has half written its PDF.
    static let waitingDocument = #"""
        \documentclass{article}
        \newif\ifwaiting
        \begin{document}
        First page.
        \clearpage
        \immediate\openout15=waiting.txt \immediate\write15{waiting}\immediate\closeout15
        \waitingtrue
        \loop\openin14=release.txt \ifeof14 \else\waitingfalse\closein14\fi \ifwaiting\repeat
        Second page.
        \end{document}

        """#

    /// Where `name` is under `directory`, hidden directories included.
    func find(_ name: String, under directory: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []).filter {
            ($0 as NSString).lastPathComponent == name
        }
    }

    @Test func aViewerNeverSeesHalfAPDFAndAFailedRunLeavesTheLastGoodOne() async throws {
        try requireTools()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let project = directory.file("paper")
        let pdf = project + "/paper.pdf"
        _ = try directory.write("paper/paper.tex", "\\documentclass{article}\\begin{document}Draft.\\end{document}\n")
        let first = try await cp(["graph", "build", "--project", project], deadline: .seconds(600))
        #expect(first.status == 0, "\(first.stderr)")
        let draft = try Data(contentsOf: URL(fileURLWithPath: pdf))
        _ = try directory.write("paper/paper.tex", Self.waitingDocument)
        async let build = cp(["graph", "build", "--project", project], deadline: .seconds(600))
        try await waitUntil(deadline: .seconds(300), "the engine to ship its first page and wait") {
            !find("waiting.txt", under: project).isEmpty
        }
        // Mid-run: the viewer's file is still the last whole PDF, byte for byte.
        #expect(try Data(contentsOf: URL(fileURLWithPath: pdf)) == draft)
        _ = try directory.write("paper/release.txt", "")
        let second = try await build
        #expect(second.status == 0, "\(second.stderr)")
        let whole = try Data(contentsOf: URL(fileURLWithPath: pdf))
        #expect(String(decoding: whole.suffix(7), as: UTF8.self).contains("%%EOF"))
        #expect(try await text(pdf).contains("Second page"))
        #expect(find("waiting.txt", under: project) == ["waiting.txt"], "what it wrote was moved into the project")
        // A failed run: the PDF stays the last good one, and the log beside it says why.
        try edit(project + "/paper.tex") { $0.replacingOccurrences(of: "Second page.", with: "\\nosuchmacro") }
        let failed = try await cp(["graph", "build", "--project", project], deadline: .seconds(600))
        #expect(failed.status == 1 && failed.stderr.contains("Undefined control sequence"), "\(failed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: pdf)) == whole)
        #expect(try String(contentsOfFile: project + "/paper.log", encoding: .utf8).contains("\\nosuchmacro"))
    }

    /// A make peer for `examples/c-tree`: gcc -MD depfiles included, as make users write it.
    static let makefile = """
        all: src/hello src/version
        src/hello: src/hello.o src/greet.o
        \tgcc -o $@ $^
        src/version: src/version.o src/greet.o
        \tgcc -o $@ $^
        %.o: %.c
        \tgcc -std=c11 -Wall -O2 -MD -MF $*.d -c -o $@ $<
        -include $(wildcard src/*.d)

        """

    /// The objects a make run's commands compiled.
    func compiled(byMake output: String) -> Set<String> {
        Set(
            output.split(separator: "\n").compactMap { line in
                guard line.contains(" -c -o ") else { return nil }
                return line.components(separatedBy: " -c -o ").last?.split(separator: " ").first.map {
                    "compile:" + $0.dropLast(2) + ".c"
                }
            })
    }

    @Test func aHeaderInASubdirectoryRecompilesWhatIncludesItAsMakeWithDepfilesDoes() async throws {
        let (directory, project) = try suite.example("c-tree")  // no definition file: inferred
        defer { directory.remove() }
        let peer = directory.file("make-copy")
        try FileManager.default.copyItem(atPath: project, toPath: peer)
        try Self.makefile.write(toFile: peer + "/Makefile", atomically: false, encoding: .utf8)
        let first = try await cp(["graph", "build", "--project", project])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            Set(suite.ran(first.stderr)) == [
                "compile:src/hello.c", "compile:src/greet.c", "compile:src/version.c", "src/hello", "src/version",
            ])
        #expect(try await runProcess(project + "/src/version", []).stdout == "Hello, world! (version 1.0)\n")
        let made = try await runProcess("make", ["-C", peer])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(compiled(byMake: made.stdout).count == 3)
        // Each header edited in turn, in both copies: the same files recompile.
        for (header, text) in [
            ("include/version.h", "#define VERSION \"1.1\"\n"),
            ("include/greet.h", "/* edited */\nconst char *greeting(void);\n"),
        ] {
            for root in [project, peer] {
                try text.write(toFile: root + "/" + header, atomically: false, encoding: .utf8)
            }
            let plan = try await cp(["graph", "plan", "--project", project])
            #expect(plan.stdout.contains("will run: input '\(header)' changed (discovered)"), "\(plan.stdout)")
            let ours = try await cp(["graph", "build", "--project", project])
            #expect(ours.status == 0, "\(ours.stderr)")
            let make = try await runProcess("make", ["-C", peer])
            let recompiled = Set(suite.ran(ours.stderr).filter { $0.hasPrefix("compile:") })
            #expect(
                !recompiled.isEmpty && recompiled == compiled(byMake: make.stdout), "\(ours.stderr)\n\(make.stdout)")
        }
        #expect(try await runProcess(project + "/src/version", []).stdout == "Hello, world! (version 1.1)\n")
        let why = try await cp(["graph", "why", "src/hello", "--project", project])
        #expect(why.stdout == "'src/hello' is up to date (task 'src/hello' [link])\n", "\(why.stdout)")
        // A header that disappears: the files that included it are rebuilt, and fail naming it.
        try FileManager.default.removeItem(atPath: project + "/include/version.h")
        let gone = try await cp(["graph", "build", "--project", project])
        #expect(gone.status == 1 && gone.stderr.contains("version.h"), "\(gone.stderr)")
        #expect(suite.ran(gone.stderr) == ["compile:src/version.c"])
    }
}
