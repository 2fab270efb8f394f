import CPModel
import DependencyGraph
import Foundation
import RulesManager
import TestSupport
import Testing

/// Tasks inferred for a directory with no definition files: LaTeX documents and C programs.
@Suite struct InferenceTests {
    /// The bundled rules.
    static let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("rules").path

    /// The inferred tasks of a directory holding `files` (path → content), one line each:
    /// "name [rule] deps ; secondaries -> outputs".
    func inferred(_ files: [String: String]) throws -> [String] {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (path, text) in files { try directory.write(path, text) }
        return Inference.tasks(root: directory.path, files: DefinitionFiles.listFiles(directory.path)).map { task in
            let list = { (paths: [Located<String>]) in paths.map(\.value).joined(separator: " ") }
            return "\(task.name) [\(task.rule?.value ?? "")] \(list(task.dependencies)) ; "
                + "\(list(task.secondaryDependencies)) -> \(list(task.outputs))"
        }
    }

    @Test func aDocumentGetsItsEngineBibliographyAndIndexFromItsSource() throws {
        let tasks = try inferred([
            "thesis.tex": """
            \\documentclass{report}
            \\usepackage{makeidx}\\makeindex
            % \\usepackage{fontspec}  (a comment: not loaded)
            \\begin{document}
            \\tableofcontents
            \\input{chapters/one}
            \\include{chapters/two.tex}
            \\printindex
            \\end{document}
            """,
            "chapters/one.tex": "\\chapter{One} 50\\% done\n",
            "chapters/two.tex": "\\chapter{Two}\n\\bibliographystyle{plain}\\bibliography{refs, more/extra}\n",
            // A top-level file with \documentclass that the thesis includes: not a document.
            "standalone.tex": "\\documentclass{article}\\begin{document}x\\end{document}\n",
            "appendix.tex": "\\input{standalone}\n",
            // A document in a subdirectory: not inferred (the engine runs at the top).
            "drafts/old.tex": "\\documentclass{article}\n",
        ])
        #expect(
            tasks == [
                "thesis [pdflatex] thesis.tex ; thesis.aux thesis.toc thesis.bbl thesis.ind -> "
                    + "thesis.pdf thesis.aux thesis.toc thesis.idx",
                "thesis-bibliography [bibtex] thesis.aux refs.bib more/extra.bib ;  -> thesis.bbl",
                "thesis-index [makeindex] thesis.idx ;  -> thesis.ind",
            ])
    }

    @Test func theEngineComesFromTheMagicLineOrFontspec() throws {
        let body = "\\begin{document}x\\end{document}\n"
        let engines = try inferred([
            "a.tex": "% !TEX program = lualatex\n\\documentclass{article}" + body,
            "b.tex": "%!TEX TS-program = XeLaTeX\n\\documentclass{article}" + body,
            "c.tex": "\\documentclass{article}\n\\usepackage[no-math]{fontspec}" + body,
            "d.tex": "\\documentclass{article}\n\\usepackage{amsmath,unicode-math}" + body,
            "e.tex": "% !TEX program = troff\n\\documentclass{article}" + body,
        ]).map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(engines == ["a [lualatex]", "b [xelatex]", "c [xelatex]", "d [xelatex]", "e [pdflatex]"])
    }

    @Test func biblatexUsesBiberOnItsControlFileOrBibtexWhenItsBackendSaysSo() throws {
        let body = "\\begin{document}\\printbibliography\\end{document}\n"
        #expect(
            try inferred([
                "a.tex": "\\documentclass{article}\\usepackage[style=numeric]{biblatex}\\addbibresource{lib/refs.bib}"
                    + body
            ]) == [
                "a [pdflatex] a.tex ; a.aux a.bbl -> a.pdf a.aux a.bcf",
                "a-bibliography [biber] a.bcf lib/refs.bib ;  -> a.bbl",
            ])
        #expect(
            try inferred([
                "a.tex": "\\documentclass{article}\\usepackage[backend = bibtex]{biblatex}\\bibliography{refs}" + body
            ]) == [
                "a [pdflatex] a.tex ; a.aux a.bbl -> a.pdf a.aux",
                "a-bibliography [bibtex] a.aux refs.bib ;  -> a.bbl",
            ])
    }

    @Test func eachFileDefiningMainIsAProgramLinkedWithTheRest() throws {
        let tasks = try inferred([
            "src/app.c": "#include \"util.h\"\nint main(int argc, char **argv) { return helper(); }\n",
            "src/tool.c": "/* int main(void) in a comment */\nint\nmain (void)\n{\n  return 0;\n}\n",
            "src/util.c": "// main(void) in a comment\nint mainly(void);\nstatic int main_loop(void) { return 0; }\n"
                + "/*\nint main(void) { }\n*/\nint helper(void) { return 0; }\n",
            "src/util.h": "int helper(void);\n",
        ])
        #expect(
            tasks == [
                "src/app [link] src/app.o src/util.o ;  -> src/app",
                "src/tool [link] src/tool.o src/util.o ;  -> src/tool",
            ])
        #expect(try inferred(["notes.txt": "no sources\n", "lib.c": "int f(void) { return 1; }\n"]).isEmpty)
    }

    @Test func aDirectoryWithNothingToInferIsOneClearError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("notes.txt", "nothing to build\n")
        #expect {
            try Project.load(root: directory.path, rulePaths: [Self.rules])
        } throws: { error in
            "\(error)".contains("no tasks (*.tyml) or projects (*.pyml) in it, and no LaTeX document")
        }
        // With a document, the same directory loads, its tasks inferred.
        try directory.write("paper.tex", "\\documentclass{article}\\begin{document}x\\end{document}\n")
        let project = try Project.load(root: directory.path, rulePaths: [Self.rules])
        #expect(project.inferred.map(\.name) == ["paper"] && project.graph.task(named: "paper") != nil)
        #expect(project.graph.goals.map { project.graph.artefacts[Int($0)] } == ["paper.pdf"])
        #expect(project.inferredProject?.targets.map(\.name) == ["paper"])
    }
}
