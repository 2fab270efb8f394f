import CPModel
import DependencyGraph
import Foundation
import RulesManager
import TestSupport
import Testing

/// Building the graph from definitions: pattern rules, explicit tasks, targets, and every
/// inconsistency as a located error.
@Suite struct GraphTests {
    static let rules = """
        types:
          cSource: { extensions: ["*.c"] }
          cObject: { extensions: ["*.o"] }
          program: { extensions: [] }
          latexDocument: { extensions: ["*.tex"] }
          auxFile: { extensions: ["*.aux"] }
          pdfFile: { extensions: ["*.pdf"] }
        rules:
          generate: { dependencies: ["%.in"], outputs: ["%.c"], build: [cp, "{{input}}", "{{output}}"] }
          compile: { dependencies: ["%.c"], outputs: ["%.o"], build: [gcc, -c, -o, "{{output}}", "{{input}}"] }
          link: { dependencies: [cObject], outputs: [program], build: [gcc, -o, "{{output}}", "{{dependencies}}"] }
          pdflatex: { dependencies: [latexDocument], secondaryDependencies: [auxFile], outputs: [pdfFile, auxFile], build: [pdflatex, "{{input}}"] }
        """

    func graph(tasks: String = "", project: String = "", files: [String], targets: [String] = []) throws -> BuildGraph {
        let book = try RuleBook.parse(try YAMLLoader.parse(Self.rules, file: "rules.ryml", what: "rules"))
        let taskList =
            tasks.isEmpty ? [] : try TaskDefinition.parse(try YAMLLoader.parse(tasks, file: "t.tyml", what: "tasks"))
        let projects =
            project.isEmpty
            ? [] : try ProjectDefinition.parse(try YAMLLoader.parse(project, file: "p.pyml", what: "project"))
        return try GraphBuilder.build(rules: book, tasks: taskList, projects: projects, files: files, targets: targets)
    }

    @Test func patternRulesApplyToFilesAndChainThroughWhatTasksWrite() throws {
        let built = try graph(
            tasks: "tasks:\n  hello:\n    rule: link\n    dependencies: [main.o, gen.o]\n    outputs: [hello]\n",
            files: ["main.c", "gen.in", "notes.txt"])
        let names = Set(built.tasks.map(\.name))
        #expect(names == ["hello", "compile:main.c", "generate:gen.in", "compile:gen.c"])
        let compileGen = try #require(built.task(named: "compile:gen.c"))
        #expect(built.tasks[Int(compileGen)].stem == "gen")
        #expect(
            built.tasks[Int(compileGen)].build.expand(
                .init(
                    dependencies: ["gen.c"], secondaryDependencies: [], outputs: ["gen.o"], stem: "gen",
                    mainFile: "gen.c", stage: "")) == ["gcc", "-c", "-o", "gen.o", "gen.c"])
        // Without targets, the goals are what the written tasks make.
        #expect(built.paths(built.goals) == ["hello"])
        let genC = try #require(built.artefact("gen.c"))
        #expect(built.tasks[Int(built.producer[Int(genC)])].name == "generate:gen.in")
        #expect(built.readers[Int(genC)].map { built.tasks[Int($0)].name } == ["compile:gen.c"])
    }

    @Test func anExplicitTaskWinsOverAPatternRule() throws {
        let built = try graph(
            tasks: "tasks:\n  main.o:\n    rule: compile\n    dependencies: [main.c, main.h]\n    outputs: [main.o]\n",
            files: ["main.c", "main.h"])
        #expect(built.tasks.map(\.name) == ["main.o"])
        #expect(built.paths(built.tasks[0].dependencies) == ["main.c", "main.h"])
    }

    @Test func inconsistenciesAreLocatedErrors() throws {
        let twice = try #require(throws: DefinitionError.self) {
            try graph(
                tasks:
                    "tasks:\n  a:\n    rule: link\n    dependencies: [x.o]\n    outputs: [app]\n  b:\n    rule: link\n    dependencies: [y.o]\n    outputs: [app]\n",
                files: [])
        }
        #expect(twice.reason.contains("'app' is an output of task 'b' and of task 'a'") && twice.line == 9)
        let unknown = try #require(throws: DefinitionError.self) {
            try graph(tasks: "tasks:\n  a:\n    rule: compil\n    dependencies: [x.c]\n    outputs: [x.o]\n", files: [])
        }
        #expect(
            unknown.reason.contains("unknown rule 'compil'") && unknown.reason.contains("did you mean 'compile'")
                && unknown.line == 3)
        let wrongType = try #require(throws: DefinitionError.self) {
            try graph(
                tasks: "tasks:\n  a:\n    rule: pdflatex\n    dependencies: [paper.c]\n    outputs: [paper.pdf]\n",
                files: [])
        }
        #expect(
            wrongType.reason.contains(
                "'paper.c' cannot be a dependency of task 'a': rule 'pdflatex' takes latexDocument, and it is a cSource"
            ))
        let noType = try #require(throws: DefinitionError.self) {
            try graph(
                tasks: "tasks:\n  a:\n    rule: pdflatex\n    dependencies: [paper.xyz]\n    outputs: [paper.pdf]\n",
                files: [])
        }
        #expect(noType.reason.contains("no type's extensions match it"))
        let noRule = try #require(throws: DefinitionError.self) {
            try graph(tasks: "tasks:\n  a:\n    dependencies: [x.c]\n", files: [])
        }
        #expect(noRule.reason.contains("names no rule"))
        let nobodyMakes = try #require(throws: DefinitionError.self) {
            try graph(
                project: "projects:\n  p:\n    targets:\n      pdf:\n        outputs: [paper.pdf]\n",
                files: ["paper.tex"])
        }
        #expect(nobodyMakes.reason.contains("target 'pdf' wants 'paper.pdf', which no task or rule makes"))
        let noTarget = try #require(throws: DefinitionError.self) {
            try graph(
                project: "projects:\n  p:\n    targets:\n      pdf:\n        outputs: [paper.tex]\n",
                files: ["paper.tex"], targets: ["html"])
        }
        #expect(noTarget.reason.contains("no target 'html'; targets: pdf"))
    }

    @Test func aTargetWithARuleGetsATaskAndItsOutputsAreTheGoals() throws {
        let built = try graph(
            project:
                "projects:\n  p:\n    targets:\n      pdf:\n        rule: pdflatex\n        dependencies: [paper.tex]\n        outputs: [paper.pdf, paper.aux]\n",
            files: ["paper.tex"])
        #expect(built.tasks.map(\.name) == ["p:pdf"])
        #expect(built.paths(built.goals) == ["paper.pdf", "paper.aux"])
        #expect(built.tasks[0].stem == "paper" && built.tasks[0].mainFile == "paper.tex")
    }
}

/// `.cp/graph.cache`: used only for exactly the definitions, files and targets it was built from.
@Suite struct GraphCacheTests {
    func project() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        try directory.write("rules/c.ryml", GraphTests.rules)
        try directory.write(
            "p/tasks.tyml", "tasks:\n  hello:\n    rule: link\n    dependencies: [main.o]\n    outputs: [hello]\n")
        try directory.write("p/main.c", "int main(void) { return 0; }\n")
        return directory
    }

    func shape(_ graph: BuildGraph) -> [String] {
        graph.tasks.map { task in
            "\(task.name) \(task.rule) \(graph.paths(task.dependencies)) \(graph.paths(task.secondaryDependencies)) \(graph.paths(task.outputs)) \(task.stem) \(task.build.source)"
        } + ["goals \(graph.paths(graph.goals))"]
    }

    @Test func aSecondLoadReadsTheCacheAndAnyChangeMissesIt() throws {
        let directory = try project()
        defer { directory.remove() }
        let root = directory.file("p")
        let rules = [directory.file("rules")]
        let first = try Project.load(root: root, rulePaths: rules, useCache: true)
        #expect(!first.fromCache)
        let second = try Project.load(root: root, rulePaths: rules, useCache: true)
        #expect(second.fromCache && shape(second.graph) == shape(first.graph))
        #expect(second.components.members.count == first.components.members.count)
        // A new file a pattern rule applies to: a new task, so a miss.
        try directory.write("p/extra.c", "int extra;\n")
        let added = try Project.load(root: root, rulePaths: rules, useCache: true)
        #expect(!added.fromCache && added.graph.task(named: "compile:extra.c") != nil)
        // An edited tasks file: a miss.
        try directory.write(
            "p/tasks.tyml",
            "tasks:\n  hello:\n    rule: link\n    dependencies: [main.o, extra.o]\n    outputs: [hello]\n")
        let edited = try Project.load(root: root, rulePaths: rules, useCache: true)
        #expect(!edited.fromCache && edited.graph.paths(edited.graph.tasks[0].dependencies) == ["main.o", "extra.o"])
        // Other targets asked for: a miss (no targets here, but the key differs).
        #expect(try Project.load(root: root, rulePaths: rules, useCache: true).fromCache)
        // A damaged cache is a miss, never a crash.
        let cache = root + "/.cp/graph.cache"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: cache))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cache))
        let damaged = try Project.load(root: root, rulePaths: rules, useCache: true)
        #expect(!damaged.fromCache && shape(damaged.graph) == shape(edited.graph))
    }
}

@Suite struct ExportTests {
    @Test func dotQuotesNamesAndMarksEdgesGoalsAndCycles() throws {
        var graph = BuildGraph()
        let location = SourceLocation(file: "t", line: 1, column: 1)
        let template = try ArgvTemplate.parse(["x"])
        let odd = graph.intern(#"a "quoted" \ name.tex"#)
        let aux = graph.intern("a.aux")
        let pdf = graph.intern("a.pdf")
        graph.add(
            BuildGraph.Task(
                name: "typeset", rule: "pdflatex", dependencies: [odd], secondaryDependencies: [aux],
                outputs: [pdf, aux], build: template, stem: "a", mainFile: "a", location: location, fromPattern: false))
        graph.goals = [pdf]
        let dot = GraphExport.dot(graph, Components(graph))
        let lines = dot.split(separator: "\n").map(String.init)
        #expect(lines.contains(#"  a0 [shape=ellipse, label="a \"quoted\" \\ name.tex"];"#))
        #expect(lines.contains("  a2 [shape=ellipse, label=\"a.pdf\", penwidth=2];"))
        #expect(dot.contains("  t0 [shape=box, style=filled, fillcolor=\"#fff2b3\", label=\"typeset\n(pdflatex)\"];\n"))
        #expect(lines.contains("  a0 -> t0;") && lines.contains("  a1 -> t0 [style=dashed];"))
        #expect(lines.contains("  t0 -> a2;") && lines.contains("  t0 -> a1;"))
        #expect(lines.contains("  subgraph cluster_1 {") && lines.contains("    t0;") && lines.contains("    a1;"))
        #expect(dot.hasPrefix("digraph cp {\n") && dot.hasSuffix("}\n"))
    }
}
