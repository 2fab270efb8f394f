/// The task graph's strongly connected components, in build order (DESIGN §5). A task comes
/// after the tasks that write its inputs, so a component comes after every component it
/// needs; the tasks of a cyclic component run in passes until their outputs settle.
public struct Components: Sendable {
    /// Each component's tasks; a cyclic component's in its pass order (primary edges first,
    /// then by name).
    public let members: [[Int32]]
    /// Per task: the index of its component in `members`.
    public let componentOf: [Int32]
    /// Per component: whether it is a cycle (several tasks, or a task reading its own output).
    public let isCyclic: [Bool]

    /// Tarjan's algorithm without recursion: its own stack of frames, so a chain of a million
    /// tasks needs no deep call stack.
    public init(_ graph: BuildGraph) {
        let count = graph.tasks.count
        var order = [Int32](repeating: -1, count: count)  // discovery index
        var low = [Int32](repeating: 0, count: count)
        var onStack = [Bool](repeating: false, count: count)
        var stack: [Int32] = []
        var found: [[Int32]] = []
        var counter: Int32 = 0
        // A frame: the task, its successors and how many of them are done.
        var frames: [(task: Int32, successors: [Int32], next: Int)] = []

        func discover(_ task: Int32) {
            order[Int(task)] = counter
            low[Int(task)] = counter
            counter += 1
            stack.append(task)
            onStack[Int(task)] = true
            frames.append((task, graph.dependants(of: task), 0))
        }

        for root in 0..<Int32(count) where order[Int(root)] < 0 {
            discover(root)
            while !frames.isEmpty {
                let top = frames.count - 1
                let task = frames[top].task
                if frames[top].next < frames[top].successors.count {
                    let next = frames[top].successors[frames[top].next]
                    frames[top].next += 1
                    if order[Int(next)] < 0 {
                        discover(next)
                    } else if onStack[Int(next)] {
                        low[Int(task)] = min(low[Int(task)], order[Int(next)])
                    }
                    continue
                }
                frames.removeLast()
                if let parent = frames.last?.task { low[Int(parent)] = min(low[Int(parent)], low[Int(task)]) }
                if low[Int(task)] == order[Int(task)] {
                    var component: [Int32] = []
                    while let member = stack.popLast() {
                        onStack[Int(member)] = false
                        component.append(member)
                        if member == task { break }
                    }
                    found.append(component)
                }
            }
        }
        // Tarjan finds a component after everything it leads to: reversed, needs come first.
        found.reverse()
        var componentOf = [Int32](repeating: 0, count: count)
        for (index, component) in found.enumerated() {
            for task in component { componentOf[Int(task)] = Int32(index) }
        }
        var cyclic: [Bool] = []
        var members: [[Int32]] = []
        for (index, component) in found.enumerated() {
            let selfLoop = component.count == 1 && graph.dependants(of: component[0]).contains(component[0])
            let isCycle = component.count > 1 || selfLoop
            cyclic.append(isCycle)
            members.append(
                isCycle
                    ? Self.passOrder(component, graph: graph, componentOf: componentOf, index: Int32(index)) : component
            )
        }
        self.members = members
        self.componentOf = componentOf
        self.isCyclic = cyclic
    }

    /// A cyclic component's tasks in a stable order: along primary edges first (a task after
    /// the tasks whose outputs it reads as primary inputs), ties and leftovers by name.
    static func passOrder(_ component: [Int32], graph: BuildGraph, componentOf: [Int32], index: Int32) -> [Int32] {
        var waiting: [Int32: Int] = [:]
        for task in component {
            let producers = graph.prerequisites(of: task).filter {
                !$0.secondary && componentOf[Int($0.task)] == index && $0.task != task
            }
            waiting[task] = Set(producers.map(\.task)).count
        }
        var ordered: [Int32] = []
        var left = Set(component)
        while !left.isEmpty {
            let ready = left.filter { waiting[$0] == 0 }
            // Primary edges alone still make a cycle: take the first by name and go on.
            let next =
                (ready.isEmpty ? left : ready).min { graph.tasks[Int($0)].name < graph.tasks[Int($1)].name }!
            ordered.append(next)
            left.remove(next)
            for dependant in Set(primaryDependants(of: next, graph: graph)) where left.contains(dependant) {
                waiting[dependant, default: 0] -= 1
            }
        }
        return ordered
    }

    private static func primaryDependants(of task: Int32, graph: BuildGraph) -> [Int32] {
        graph.tasks[Int(task)].outputs.flatMap { graph.readers[Int($0)] }.filter { $0 != task }
    }

    /// The cyclic components' indices.
    public var cycles: [Int] { isCyclic.indices.filter { isCyclic[$0] } }

    /// The artefacts that close a cyclic component: outputs of its tasks read by its tasks.
    public func feedback(_ component: Int, in graph: BuildGraph) -> [Int32] {
        var result: [Int32] = []
        for task in members[component] {
            for output in graph.tasks[Int(task)].outputs {
                let readBy = graph.readers[Int(output)] + graph.secondaryReaders[Int(output)]
                if readBy.contains(where: { componentOf[Int($0)] == Int32(component) }) { result.append(output) }
            }
        }
        return result.sorted { graph.artefacts[Int($0)] < graph.artefacts[Int($1)] }
    }
}
