/// What a build would do, without doing it: `cp graph plan` and `cp graph why` (DESIGN §5).
extension Scheduler {
    /// What a build would do to a task that is not up to date.
    public enum Verdict: Sendable, CustomStringConvertible {
        /// Out of date itself, for this reason.
        case willRun(String)
        /// Up to date now, but it reads what is rebuilt first (`by` that task), or its cycle runs.
        case mayRun(String, by: Int32)

        public var description: String {
            switch self {
            case .willRun(let reason): return "will run: \(reason)"
            case .mayRun(let why, _): return "may run: \(why)"
            }
        }

        var willRun: Bool { if case .willRun = self { true } else { false } }
    }

    /// What would happen to each task of `components` (given in build order; absent: nothing):
    /// a task whose inputs are made by a task that runs first may run too.
    public func verdicts(in components: [Int]) -> [Int32: Verdict] {
        var verdicts: [Int32: Verdict] = [:]
        lookAt(components[...])
        for component in components {
            for task in self.components.members[component] {
                if let reason = reason(task) {
                    verdicts[task] = .willRun(reason)
                } else if !verdicts.isEmpty,
                    let first = graph.prerequisites(of: task).lazy.map(\.task).first(where: {
                        verdicts[$0] != nil && $0 != task
                    })
                {
                    verdicts[task] = .mayRun(
                        "its inputs are rebuilt first (by '\(graph.tasks[Int(first)].name)')", by: first)
                }
            }
            // In a cycle, anything that runs may disturb the others.
            let members = self.components.members[component]
            if self.components.isCyclic[component], let first = members.first(where: { verdicts[$0] != nil }) {
                for task in members where verdicts[task] == nil {
                    verdicts[task] = .mayRun("its cycle runs ('\(graph.tasks[Int(first)].name)' first)", by: first)
                }
            }
        }
        return verdicts
    }

    /// Each task the goals need, in build order, with what would happen to it (`text`), and
    /// the counts ("N tasks: N will run, N may run, N up to date").
    public func plan() -> (text: String, counts: String) {
        let needed = neededComponents
        let verdicts = verdicts(in: needed)
        var text = ""
        var cycleNumber = 0
        for component in needed {
            let cyclic = components.isCyclic[component]
            if cyclic {
                cycleNumber += 1
                let through = graph.paths(components.feedback(component, in: graph)).joined(separator: ", ")
                text += "cycle \(cycleNumber) (passes until \(through) settle, at most \(maxPasses)):\n"
            }
            for task in components.members[component] {
                let definition = graph.tasks[Int(task)]
                text +=
                    "\(cyclic ? "  " : "")\(definition.name) [\(definition.rule)]: \(verdicts[task]?.description ?? "up to date")\n"
            }
        }
        let total = needed.reduce(0) { $0 + components.members[$1].count }
        let willRun = verdicts.values.filter(\.willRun).count
        let counts =
            "\(total) task\(total == 1 ? "" : "s"): \(willRun) will run, \(verdicts.count - willRun) may run, "
            + "\(total - verdicts.count) up to date"
        return (text.isEmpty ? "nothing to build\n" : text, counts)
    }

    /// The chain of reasons `path` is out of date, or that it is up to date: from its producer
    /// up through what would be rebuilt first. `known` is false when no task reads or writes it.
    public func explain(_ path: String) -> (text: String, known: Bool) {
        guard let artefact = graph.artefact(path) else {
            return ("'\(path)' is not in the graph (no task reads or writes it)", false)
        }
        let verdicts = verdicts(in: Array(components.members.indices))
        var text = ""
        var current = artefact
        var visited = Set<Int32>()
        while true {
            let producer = graph.producer[Int(current)]
            let name = graph.artefacts[Int(current)]
            guard producer >= 0 else {
                return (
                    text + "'\(name)' is a source file\(files.digest(name) == nil ? ", and it is missing" : "")\n", true
                )
            }
            let task = graph.tasks[Int(producer)]
            guard visited.insert(producer).inserted else {
                return (text + "'\(name)' is made by '\(task.name)', in a cycle already explained above\n", true)
            }
            switch verdicts[producer] {
            case nil:
                return (text + "'\(name)' is up to date (task '\(task.name)' [\(task.rule)])\n", true)
            case .willRun(let reason):
                return (
                    text + "'\(name)' is out of date: task '\(task.name)' [\(task.rule)] will run: \(reason)\n", true
                )
            case .mayRun(let why, let upstream):
                // The input it reads from the task that runs first (in a cycle: that task's output).
                let reads = task.dependencies + task.secondaryDependencies
                let made = graph.tasks[Int(upstream)].outputs
                guard let input = made.first(where: { reads.contains($0) }) ?? made.first else {
                    return (text + "'\(name)' may change: task '\(task.name)' may run: \(why)\n", true)
                }
                text +=
                    "'\(name)' may change: task '\(task.name)' reads '\(graph.artefacts[Int(input)])', which is rebuilt first\n"
                current = input
            }
        }
    }
}
