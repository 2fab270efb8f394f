import CPModel
import DependencyGraph
import Foundation
import RulesManager
import TestSupport
import Testing

/// Strongly connected components on hand-made graphs, and the exports.
@Suite struct ComponentsTests {
    /// A graph from `(name, inputs, secondary inputs, outputs)`.
    func graph(_ tasks: [(String, [String], [String], [String])]) -> BuildGraph {
        var graph = BuildGraph()
        let location = SourceLocation(file: "test", line: 1, column: 1)
        for (name, inputs, secondary, outputs) in tasks {
            let task = BuildGraph.Task(
                name: name, rule: "r", dependencies: inputs.map { graph.intern($0) },
                secondaryDependencies: secondary.map { graph.intern($0) }, outputs: outputs.map { graph.intern($0) },
                build: try! ArgvTemplate.parse([]), stem: name, mainFile: inputs.first ?? "", location: location,
                fromPattern: false)
            graph.add(task)
        }
        return graph
    }

    func names(_ graph: BuildGraph, _ components: Components) -> [[String]] {
        components.members.map { $0.map { graph.tasks[Int($0)].name } }
    }

    @Test func anAcyclicChainComesInBuildOrder() {
        let built = graph([
            ("link", ["a.o"], [], ["app"]), ("compile", ["a.c"], [], ["a.o"]), ("gen", ["a.in"], [], ["a.c"]),
        ])
        let components = Components(built)
        #expect(names(built, components) == [["gen"], ["compile"], ["link"]])
        #expect(components.cycles.isEmpty)
    }

    @Test func aSelfLoopIsACycle() {
        let built = graph([
            ("latex", ["paper.tex"], ["paper.aux"], ["paper.pdf", "paper.aux"]), ("view", ["paper.pdf"], [], ["shown"]),
        ])
        let components = Components(built)
        #expect(names(built, components) == [["latex"], ["view"]])
        #expect(components.isCyclic == [true, false])
        #expect(built.paths(components.feedback(0, in: built)) == ["paper.aux"])
    }

    @Test func twoInterlockedCyclesAreOneComponentInPrimaryOrder() {
        // a → b → a and b → c → b share b: one component {a, b, c}.
        let built = graph([
            ("c", ["b.out"], [], ["c.out"]),
            ("a", ["a.src"], ["b.out"], ["a.out"]),
            ("b", ["a.out"], ["c.out"], ["b.out"]),
            ("after", ["b.out"], [], ["final"]),
        ])
        let components = Components(built)
        #expect(names(built, components) == [["a", "b", "c"], ["after"]])
        #expect(components.isCyclic == [true, false])
        #expect(built.paths(components.feedback(0, in: built)) == ["a.out", "b.out", "c.out"])
    }

    @Test func aCycleClosedOnlyBySecondaryEdgesIsFound() {
        let built = graph([
            ("pdflatex", ["paper.tex"], ["paper.bbl"], ["paper.pdf", "paper.aux"]),
            ("bibtex", ["paper.aux", "refs.bib"], [], ["paper.bbl"]),
        ])
        let components = Components(built)
        #expect(names(built, components) == [["pdflatex", "bibtex"]])
        #expect(components.cycles == [0])
    }

    /// Iterative: a chain of a million tasks would overflow a recursive Tarjan's stack.
    @Test func aMillionTaskChainDoesNotOverflowTheStack() {
        var built = BuildGraph()
        let location = SourceLocation(file: "test", line: 1, column: 1)
        let template = try! ArgvTemplate.parse([])
        let count = 1_000_000
        var previous = built.intern("f0")
        for index in 1...count {
            let next = built.intern("f\(index)")
            built.add(
                BuildGraph.Task(
                    name: "t\(index)", rule: "r", dependencies: [previous], secondaryDependencies: [], outputs: [next],
                    build: template, stem: "", mainFile: "", location: location, fromPattern: false))
            previous = next
        }
        let components = Components(built)
        #expect(components.members.count == count)
        #expect(components.members.first == [0] && components.members.last == [Int32(count - 1)])
        #expect(components.cycles.isEmpty)
    }

    @Test func exportsDrawTasksSecondaryEdgesAndCycles() async throws {
        let built = graph([
            ("pdflatex", ["paper.tex"], ["paper.bbl"], ["paper.pdf", "paper.aux"]),
            ("bibtex", ["paper.aux", "refs.bib"], [], ["paper.bbl"]),
        ])
        let components = Components(built)
        let dot = GraphExport.dot(built, components)
        #expect(dot.contains("subgraph cluster_1"))
        #expect(dot.contains("shape=box"))
        let bbl = built.artefact("paper.bbl")!
        #expect(dot.contains("a\(bbl) -> t0 [style=dashed];"))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try directory.write("graph.dot", dot)
        let drawn = try await runProcess("dot", ["-Tsvg", file])
        #expect(drawn.status == 0, "\(drawn.stderr)")
        #expect(drawn.stdout.contains("<svg"))
        let mermaid = GraphExport.mermaid(built, components)
        #expect(
            mermaid.hasPrefix("flowchart LR") && mermaid.contains("a\(bbl) -.-> t0")
                && mermaid.contains("subgraph cycle1"))
        let json =
            try JSONSerialization.jsonObject(with: Data(GraphExport.json(built, components).utf8)) as? [String: Any]
        let jsonComponents = try #require(json?["components"] as? [[String: Any]])
        #expect(jsonComponents.count == 1 && jsonComponents[0]["cyclic"] as? Bool == true)
        #expect(jsonComponents[0]["feedback"] as? [String] == ["paper.aux", "paper.bbl"])
    }
}
