import Foundation

/// The graph written out (DESIGN §5): DOT (tasks as boxes, secondary edges dashed, cyclic
/// components as clusters), JSON (artefacts, tasks, components) and Mermaid.
public enum GraphExport {
    public enum Format: String, Sendable, CaseIterable {
        case dot, json, mermaid
    }

    public static func render(_ graph: BuildGraph, _ components: Components, as format: Format) -> String {
        switch format {
        case .dot: return dot(graph, components)
        case .json: return json(graph, components)
        case .mermaid: return mermaid(graph, components)
        }
    }

    /// Graphviz: `dot -Tsvg` draws it (`sfdp` for large graphs). Written straight into one
    /// string, numbers appended as they are: a 50,000-step graph is 600,000 lines.
    public static func dot(_ graph: BuildGraph, _ components: Components) -> String {
        func quoted(_ text: String) -> String {
            guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) else {
                return "\"" + text + "\""
            }
            return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                + "\""
        }
        var out = "digraph cp {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n"
        out.reserveCapacity(64 * (graph.tasks.count + graph.artefacts.count) + 24 * graph.tasks.count * 8)
        /// `  aN -> tM;` and the like: the edge's two ends and what follows them.
        func edge(_ from: Character, _ a: Int, _ to: Character, _ b: Int, _ tail: String = ";\n") {
            out += "  "
            out.append(from)
            out += String(a)
            out += " -> "
            out.append(to)
            out += String(b)
            out += tail
        }
        let goals = Set(graph.goals)
        for (number, component) in components.cycles.enumerated() {
            out += "  subgraph cluster_\(number + 1) {\n"
            out += "    label=\(quoted("cycle \(number + 1)")); style=dashed; color=red;\n"
            for task in components.members[component] { out += "    t\(task);\n" }
            for artefact in components.feedback(component, in: graph) { out += "    a\(artefact);\n" }
            out += "  }\n"
        }
        for (id, task) in graph.tasks.enumerated() {
            out += "  t" + String(id) + " [shape=box, style=filled, fillcolor=\"#fff2b3\", label="
            out += quoted("\(task.name)\n(\(task.rule))") + "];\n"
        }
        for (id, path) in graph.artefacts.enumerated() {
            out += "  a" + String(id) + " [shape=ellipse, label=" + quoted(path)
            out += goals.contains(Int32(id)) ? ", penwidth=2];\n" : "];\n"
        }
        for (id, task) in graph.tasks.enumerated() {
            for input in task.dependencies { edge("a", Int(input), "t", id) }
            for input in task.secondaryDependencies { edge("a", Int(input), "t", id, " [style=dashed];\n") }
            for output in task.outputs { edge("t", id, "a", Int(output)) }
        }
        out += "}\n"
        return out
    }

    /// Mermaid's flowchart: tasks as boxes, artefacts as stadiums, secondary edges dotted.
    public static func mermaid(_ graph: BuildGraph, _ components: Components) -> String {
        func label(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\"", with: "#quot;") + "\""
        }
        var lines = ["flowchart LR"]
        for (id, task) in graph.tasks.enumerated() { lines.append("  t\(id)[\(label("\(task.name) (\(task.rule))"))]") }
        for (id, path) in graph.artefacts.enumerated() { lines.append("  a\(id)([\(label(path))])") }
        for (id, task) in graph.tasks.enumerated() {
            for input in task.dependencies { lines.append("  a\(input) --> t\(id)") }
            for input in task.secondaryDependencies { lines.append("  a\(input) -.-> t\(id)") }
            for output in task.outputs { lines.append("  t\(id) --> a\(output)") }
        }
        for (number, component) in components.cycles.enumerated() {
            lines.append("  subgraph cycle\(number + 1) [\(label("cycle \(number + 1)"))]")
            for task in components.members[component] { lines.append("    t\(task)") }
            lines.append("  end")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    struct JSONGraph: Encodable {
        struct Artefact: Encodable {
            var path: String
            var producer: String?
            var goal: Bool
        }
        struct Task: Encodable {
            var name: String
            var rule: String
            var dependencies: [String]
            var secondaryDependencies: [String]
            var outputs: [String]
            var component: Int
        }
        struct Component: Encodable {
            var tasks: [String]
            var cyclic: Bool
            var feedback: [String]
        }
        var artefacts: [Artefact]
        var tasks: [Task]
        /// In build order.
        var components: [Component]
    }

    public static func json(_ graph: BuildGraph, _ components: Components) -> String {
        let goals = Set(graph.goals)
        let document = JSONGraph(
            artefacts: graph.artefacts.enumerated().map { id, path in
                let producer = graph.producer[id]
                return JSONGraph.Artefact(
                    path: path, producer: producer >= 0 ? graph.tasks[Int(producer)].name : nil,
                    goal: goals.contains(Int32(id)))
            },
            tasks: graph.tasks.enumerated().map { id, task in
                JSONGraph.Task(
                    name: task.name, rule: task.rule, dependencies: graph.paths(task.dependencies),
                    secondaryDependencies: graph.paths(task.secondaryDependencies), outputs: graph.paths(task.outputs),
                    component: Int(components.componentOf[id]))
            },
            components: components.members.indices.map { index in
                JSONGraph.Component(
                    tasks: components.members[index].map { graph.tasks[Int($0)].name },
                    cyclic: components.isCyclic[index],
                    feedback: components.isCyclic[index] ? graph.paths(components.feedback(index, in: graph)) : [])
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(document)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
