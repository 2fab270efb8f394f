import Foundation
import TestSupport
import Testing

/// Discovered dependencies with the real tools, through `cp graph build`: pdflatex's `-recorder`
/// file and gcc's depfile name what the definitions do not (chapters, a figure, headers), and
/// an edit to one of them reruns exactly what read it.
@Suite struct DiscoveryEndToEndTests {
    let suite = GraphBuildEndToEndTests()

    /// The thesis example with tasks that name only the main file of each step.
    func thesis() throws -> (TemporaryDirectory, String) {
        let (directory, project) = try suite.example("thesis")
        try """
        tasks:
          thesis:
            rule: pdflatex
            dependencies: [thesis.tex]
            secondaryDependencies: [thesis.aux, thesis.toc, thesis.bbl, thesis.ind]
            outputs: [thesis.pdf, thesis.aux, thesis.toc, thesis.idx]
          bibliography: {rule: bibtex, dependencies: [thesis.aux, refs.bib], outputs: [thesis.bbl]}
          index: {rule: makeindex, dependencies: [thesis.idx], outputs: [thesis.ind]}
        """.write(toFile: project + "/tasks.tyml", atomically: false, encoding: .utf8)
        return (directory, project)
    }

    func edit(_ path: String, _ change: (String) -> String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let changed = change(text)
        #expect(changed != text, "the edit of \(path) changed nothing")
        try changed.write(toFile: path, atomically: false, encoding: .utf8)
    }

    func text(_ pdf: String) async throws -> String { try await runProcess("pdftotext", [pdf, "-"]).stdout }

    @Test func aThesisChaptersFigureAndBibliographyRebuildWhatReadsThem() async throws {
        let (directory, project) = try thesis()
        defer { directory.remove() }
        let first = try await cp(["graph", "build", "--project", project])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Set(suite.ran(first.stderr)) == ["thesis", "bibliography", "index"])
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
        #expect(!suite.ran(chapter.stderr).contains("bibliography"))  // the citations did not change
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
        #expect(cited.status == 0 && suite.ran(cited.stderr).first == "bibliography", "\(cited.stderr)")
        #expect(try await text(project + "/thesis.pdf").contains("Literate builds"))
        let nothing = try await cp(["graph", "build", "--project", project])
        #expect(nothing.status == 0 && suite.ran(nothing.stderr).isEmpty, "\(nothing.stderr)")
        // A system file (a TeX Live class) is never recorded: only the project's files are.
        let state = try await runProcess(
            "sqlite3", [project + "/.cp/state.db", "SELECT count(*) FROM tasks WHERE instr(files, '/usr/share') > 0"])
        #expect(state.stdout == "0\n", "\(state.stderr)")
    }

    @Test func aHeaderInASubdirectoryRecompilesOnlyTheFilesThatIncludeIt() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("p/include/greet.h", "#define GREETING \"Hello\"\n")
        try directory.write("p/include/count.h", "#define COUNT 3\n")
        try directory.write(
            "p/src/main.c",
            "#include <stdio.h>\n#include \"../include/greet.h\"\nint count(void);\n"
                + "int main(void) { printf(\"%s %d\\n\", GREETING, count()); return 0; }\n")
        try directory.write("p/src/count.c", "#include \"../include/count.h\"\nint count(void) { return COUNT; }\n")
        try directory.write(
            "p/tasks.tyml",
            "tasks:\n  app:\n    rule: link\n    dependencies: [src/main.o, src/count.o]\n    outputs: [app]\n")
        let project = directory.file("p")
        let first = try await cp(["graph", "build", "--project", project])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Set(suite.ran(first.stderr)) == ["compile:src/main.c", "compile:src/count.c", "app"])
        #expect(try await runProcess(project + "/app", []).stdout == "Hello 3\n")
        try directory.write("p/include/count.h", "#define COUNT 4\n")
        let plan = try await cp(["graph", "plan", "--project", project])
        #expect(
            plan.stdout.contains(
                "compile:src/count.c [compile]: will run: input 'include/count.h' changed (discovered)"))
        #expect(plan.stdout.contains("compile:src/main.c [compile]: up to date"))
        let why = try await cp(["graph", "why", "src/count.o", "--project", project])
        #expect(why.stdout.contains("input 'include/count.h' changed (discovered)"))
        let second = try await cp(["graph", "build", "--project", project])
        #expect(
            second.status == 0 && Set(suite.ran(second.stderr)) == ["compile:src/count.c", "app"], "\(second.stderr)")
        #expect(try await runProcess(project + "/app", []).stdout == "Hello 4\n")
        // What make -MD would rerun is the same: the objects whose depfile names the header.
        let depfile = try String(contentsOfFile: project + "/src/count.d", encoding: .utf8)
        #expect(depfile.contains("include/count.h") && !depfile.contains("greet.h"))
        // A header that disappears: the file that included it is rebuilt, and fails, naming it.
        try FileManager.default.removeItem(atPath: project + "/include/greet.h")
        let gone = try await cp(["graph", "build", "--project", project])
        #expect(gone.status == 1 && gone.stderr.contains("greet.h"), "\(gone.stderr)")
        #expect(suite.ran(gone.stderr) == ["compile:src/main.c"])
    }
}
