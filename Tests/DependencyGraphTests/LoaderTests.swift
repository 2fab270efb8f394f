import CPModel
import Foundation
import RulesManager
import TestSupport
import Testing

/// The definition loaders (DESIGN §4) on fixtures written here in the originals' shapes.
@Suite struct LoaderTests {
    static let cRules = """
        # C rules, in the shape of the originals' ansi-c.ryml
        required: [gcc]
        types:
          cSource: { extensions: ["*.c"] }
          cHeader: { extensions: ["*.h"] }
          cObject: { extensions: ["*.o"] }
          program: { extensions: [] }
        rules:
          compile:
            help: Compile one C file
            dependencies: ["%.c"]
            outputs: ["%.o"]
            build: [gcc, -c, -o, "{{output}}", "{{input}}"]
          link:
            dependencies: [cObject]
            outputs: [program]
            command: [gcc, -o, "{{output}}", "{{dependencies}}"]
        """

    @Test func rulesLoadTypesPatternsTypedRulesAndTheCommandAlias() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("rules/c.ryml", Self.cRules)
        let book = try RuleBook.load([directory.file("rules")])
        #expect(book.required == ["gcc"])
        #expect(book.types["cSource"]?.extensions == ["*.c"])
        #expect(book.types["program"]?.matches("bin/hello") == true && book.types["program"]?.matches("a.o") == false)
        let compile = try #require(book.rules["compile"])
        #expect(compile.isPattern && compile.primaryPattern?.stem(of: "src/greet.c") == "src/greet")
        let link = try #require(book.rules["link"])
        #expect(!link.isPattern && link.dependencies.map(\.value) == [.type("cObject")])
        #expect(link.build.source == ["gcc", "-o", "{{output}}", "{{dependencies}}"])
        #expect(book.type(of: "x/y.h")?.name == "cHeader")
    }

    @Test func filesOfADirectoryTreeMergeWithCaseInsensitiveExtensions() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write(
            "rules/a.ryml",
            "types:\n  tex: { extensions: ['*.tex'] }\nrules:\n  r: { dependencies: [tex], outputs: ['out.txt'] }\n")
        try directory.write(
            "rules/deeper/B.RYML", "types:\n  tex: { extensions: ['*.ltx'] }\nrules:\n  r: { help: merged }\n")
        try directory.write("rules/notes.txt", "not: [rules")  // another extension: not read
        let book = try RuleBook.load([directory.file("rules")])
        #expect(book.types["tex"]?.extensions == ["*.tex", "*.ltx"])  // lists append
        #expect(book.rules["r"]?.help == "merged" && book.rules["r"]?.outputs.map(\.value) == [.path("out.txt")])
        #expect(book.files.count == 2)
    }

    @Test func aLinkLoopIsWalkedOnce() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try directory.write("p/a/one.txt", "1")
        _ = try directory.write("elsewhere/shared.bib", "@misc{x}")
        try FileManager.default.createSymbolicLink(atPath: directory.file("p/a/up"), withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("p/refs.bib"), withDestinationPath: directory.file("elsewhere/shared.bib"))
        try FileManager.default.createSymbolicLink(
            atPath: directory.file("p/shared"), withDestinationPath: directory.file("elsewhere"))
        try FileManager.default.createSymbolicLink(atPath: directory.file("p/dangling"), withDestinationPath: "nowhere")
        // The loop (a/up → p) ends; linked files and directories count; a dangling link does not.
        #expect(DefinitionFiles.listFiles(directory.file("p")) == ["a/one.txt", "refs.bib", "shared/shared.bib"])
    }

    @Test func aSyntaxErrorNamesFileLineAndColumn() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("shouldNotLoad.ryml", "should: not: load:\n")
        let error = try #require(throws: DefinitionError.self) { try RuleBook.load([file]) }
        #expect(error.file == file && error.line == 1 && error.column != nil)
    }

    @Test func anUnknownKeyIsNamedWithASuggestion() throws {
        let error = try #require(throws: DefinitionError.self) {
            try RuleBook.parse(
                try YAMLLoader.parse("rules:\n  r:\n    dependancies: [x.c]\n", file: "f.ryml", what: "rules"))
        }
        #expect(error.line == 3 && error.column == 5)
        #expect(error.reason.contains("unknown key 'dependancies' in rule 'r' (did you mean 'dependencies'?)"))
    }

    @Test func anUnknownTypeAPatternWithTwoPercentsAndAnUnknownPlaceholderAreErrors() throws {
        func load(_ text: String) throws -> RuleBook {
            try RuleBook.parse(try YAMLLoader.parse(text, file: "f.ryml", what: "rules"))
        }
        let unknownType = try #require(throws: DefinitionError.self) {
            try load("types:\n  cSource: { extensions: ['*.c'] }\nrules:\n  r: { dependencies: [cSorce] }\n")
        }
        #expect(
            unknownType.reason.contains("unknown type 'cSorce'")
                && unknownType.reason.contains("did you mean 'cSource'"))
        #expect(unknownType.line == 4)
        let twoPercents = try #require(throws: DefinitionError.self) {
            try load("rules:\n  r: { dependencies: ['%/%.c'] }\n")
        }
        #expect(twoPercents.reason.contains("more than one '%'"))
        let placeholder = try #require(throws: DefinitionError.self) {
            try load("rules:\n  r: { build: [cc, '{{inputs}}'] }\n")
        }
        #expect(placeholder.reason.contains("unknown placeholder '{{inputs}}'"))
    }

    @Test func argvTemplatesExpandListsToSeveralArguments() throws {
        let book = try RuleBook.parse(
            try YAMLLoader.parse(
                "rules:\n  r:\n    build: [tool, '{{dependencies}}', '-I{{secondaryDependencies}}', '--out={{output}}', '{{stem}}.log', '{{mainFile}}', '-d={{stage}}']\n",
                file: "f.ryml", what: "rules"))
        let build = try #require(book.rules["r"]).build
        #expect(build.usesStage)
        let argv = build.expand(
            .init(
                dependencies: ["a.c", "b.c"], secondaryDependencies: ["inc", "gen"], outputs: ["x.o", "y.o"], stem: "a",
                mainFile: "a.c", stage: ".cp/stage/a"))
        #expect(argv == ["tool", "a.c", "b.c", "-Iinc", "-Igen", "--out=x.o", "a.log", "a.c", "-d=.cp/stage/a"])
        let empty = build.expand(
            .init(dependencies: [], secondaryDependencies: [], outputs: [], stem: "", mainFile: "", stage: ""))
        #expect(empty == ["tool", "--out=", ".log", "", "-d="])
        #expect(try !ArgvTemplate.parse(["tool", "{{stem}}"]).usesStage)
    }

    @Test func tasksLoadAndPathsThatEscapeTheProjectAreRefused() throws {
        let tasks = try TaskDefinition.parse(
            try YAMLLoader.parse(
                "tasks:\n  paper:\n    rule: pdflatex\n    dependencies: [./paper.tex]\n    secondaryDependencies: [paper.aux]\n    outputs: [out/../paper.pdf, paper.aux]\n",
                file: "t.tyml", what: "tasks"))
        #expect(tasks.count == 1)
        #expect(tasks[0].rule?.value == "pdflatex")
        #expect(tasks[0].dependencies.map(\.value) == ["paper.tex"])
        #expect(tasks[0].outputs.map(\.value) == ["paper.pdf", "paper.aux"])
        for bad in ["../secret.tex", "/etc/passwd", "a/../../b"] {
            let error = try #require(throws: DefinitionError.self) {
                try TaskDefinition.parse(
                    try YAMLLoader.parse(
                        "tasks:\n  t:\n    rule: r\n    dependencies: ['\(bad)']\n", file: "t.tyml", what: "tasks"))
            }
            #expect(error.line == 4 && error.reason.contains("path '\(bad)'"), "\(bad): \(error)")
        }
    }

    @Test func projectsLoadInBothFormsWithDefaultsMerged() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write(
            "main.pyml",
            """
            projects:
              book:
                description: A book
                targets:
                  defaults:
                    mainFile: book.tex
                    dependencies: [preamble.tex]
                    uses: [fonts]
                  pdf:
                    help: the PDF
                    dependencies: [book.tex, preamble.tex]
                    outputs: [book.pdf]
                    uses: [images]
                directories: [chapters]
            """)
        try directory.write(
            "legacy/old.PYML", "description: the older form\ntargets:\n  doc:\n    outputs: [old.pdf]\n")
        let projects = try ProjectDefinition.load([directory.path]).sorted { $0.name < $1.name }
        #expect(projects.map(\.name) == ["book", "old"])
        let pdf = try #require(projects[0].targets.first)
        #expect(projects[0].targets.map(\.name) == ["pdf"])  // defaults merged, not a target
        #expect(pdf.mainFile == "book.tex" && pdf.help == "the PDF")
        #expect(pdf.dependencies.map(\.value) == ["preamble.tex", "book.tex"])
        #expect(pdf.uses == ["fonts", "images"])
        #expect(projects[0].directories == ["chapters"])
        #expect(
            projects[1].description == "the older form"
                && projects[1].targets.first?.outputs.map(\.value) == ["old.pdf"])
    }
}
