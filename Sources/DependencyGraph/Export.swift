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

    /// Graphviz: `dot -Tsvg` draws it (`sfdp` for large graphs).
    public static func dot(_ graph: BuildGraph, _ components: Components) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        var lines = ["digraph cp {", "  rankdir=LR;", "  node [fontname=\"Helvetica\", fontsize=10];"]
        let goals = Set(graph.goals)
        for (number, component) in components.cycles.enumerated() {
            lines.append("  subgraph cluster_\(number + 1) {")
            lines.append("    label=\(quoted("cycle \(number + 1)")); style=dashed; color=red;")
            for task in components.members[component] { lines.append("    t\(task);") }
            for artefact in components.feedback(component, in: graph) { lines.append("    a\(artefact);") }
            lines.append("  }")
        }
        for (id, task) in graph.tasks.enumerated() {
            lines.append(
                "  t\(id) [shape=box, style=filled, fillcolor=\"#fff2b3\", label=\(quoted("\(task.name)\n(\(task.rule))"))];"
            )
        }
        for (id, path) in graph.artefacts.enumerated() {
            let goal = goals.contains(Int32(id)) ? ", penwidth=2" : ""
            lines.append("  a\(id) [shape=ellipse, label=\(quoted(path))\(goal)];")
        }
        for (id, task) in graph.tasks.enumerated() {
            for input in task.dependencies { lines.append("  a\(input) -> t\(id);") }
            for input in task.secondaryDependencies { lines.append("  a\(input) -> t\(id) [style=dashed];") }
            for output in task.outputs { lines.append("  t\(id) -> a\(output);") }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
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
