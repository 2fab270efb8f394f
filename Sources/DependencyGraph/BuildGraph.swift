import CPModel
import RulesManager

/// The dependency graph of one project (DESIGN §5): artefacts (paths relative to the project
/// root) and tasks, in dense arrays indexed by `Int32`, with both directions stored, so "what
/// does X need" and "what must rebuild when X changed" are both direct look-ups.
///
/// Edges: artefact → task (a primary input), artefact ⇢ task (a secondary input: used if it
/// exists; the edge that usually closes a cycle), task → artefact (an output; an artefact has
/// at most one producer).
public struct BuildGraph: Sendable {
    public struct Task: Sendable {
        public var name: String
        public var rule: String
        public var dependencies: [Int32]
        public var secondaryDependencies: [Int32]
        public var outputs: [Int32]
        public var build: ArgvTemplate
        /// How its tool reports what it read (the rule's `discover`), if it does.
        public var discovery: Discovery?
        /// What `%` matched (pattern rules), else the main file's name without its extension.
        public var stem: String
        public var mainFile: String
        /// Where the task was defined (its `*.tyml` entry, or the pattern rule it instantiates).
        public var location: SourceLocation
        /// Instantiated from a pattern rule rather than written in a tasks file or a target.
        public var fromPattern: Bool

        public init(
            name: String, rule: String, dependencies: [Int32], secondaryDependencies: [Int32], outputs: [Int32],
            build: ArgvTemplate, discovery: Discovery? = nil, stem: String, mainFile: String,
            location: SourceLocation, fromPattern: Bool
        ) {
            self.name = name
            self.rule = rule
            self.dependencies = dependencies
            self.secondaryDependencies = secondaryDependencies
            self.outputs = outputs
            self.build = build
            self.discovery = discovery
            self.stem = stem
            self.mainFile = mainFile
            self.location = location
            self.fromPattern = fromPattern
        }
    }

    public private(set) var artefacts: [String] = []
    public private(set) var tasks: [Task] = []
    /// Per artefact: the task that writes it, or -1 for a source file.
    public private(set) var producer: [Int32] = []
    /// Per artefact: the tasks that read it as a primary input.
    public private(set) var readers: [[Int32]] = []
    /// Per artefact: the tasks that read it as a secondary input.
    public private(set) var secondaryReaders: [[Int32]] = []
    /// The artefacts the build is for (the targets' outputs; every output without targets).
    public var goals: [Int32] = []
    private var index: [String: Int32] = [:]
    private var taskIndex: [String: Int32] = [:]

    public init() {}

    public func artefact(_ path: String) -> Int32? { index[path] }
    public func task(named name: String) -> Int32? { taskIndex[name] }

    /// Room for `artefacts` artefacts and `tasks` tasks (a graph read back knows its size).
    public mutating func reserveCapacity(artefacts: Int, tasks: Int) {
        self.artefacts.reserveCapacity(artefacts)
        producer.reserveCapacity(artefacts)
        readers.reserveCapacity(artefacts)
        secondaryReaders.reserveCapacity(artefacts)
        index.reserveCapacity(artefacts)
        self.tasks.reserveCapacity(tasks)
        taskIndex.reserveCapacity(tasks)
    }

    /// The artefact `path`, added if new.
    @discardableResult
    public mutating func intern(_ path: String) -> Int32 {
        if let known = index[path] { return known }
        let id = Int32(artefacts.count)
        artefacts.append(path)
        producer.append(-1)
        readers.append([])
        secondaryReaders.append([])
        index[path] = id
        return id
    }

    /// Adds `task`; its outputs must have no producer yet (the builder checks, with locations).
    @discardableResult
    public mutating func add(_ task: Task) -> Int32 {
        let id = Int32(tasks.count)
        tasks.append(task)
        taskIndex[task.name] = id
        for input in task.dependencies { readers[Int(input)].append(id) }
        for input in task.secondaryDependencies { secondaryReaders[Int(input)].append(id) }
        for output in task.outputs { producer[Int(output)] = id }
        return id
    }

    /// The tasks that read an output of `task` (primary or secondary): they come after it.
    public func dependants(of task: Int32) -> [Int32] {
        var result: [Int32] = []
        for output in tasks[Int(task)].outputs {
            result += readers[Int(output)]
            result += secondaryReaders[Int(output)]
        }
        return result
    }

    /// The tasks that write an input of `task`, with whether the edge is secondary.
    public func prerequisites(of task: Int32) -> [(task: Int32, secondary: Bool)] {
        let definition = tasks[Int(task)]
        var result: [(task: Int32, secondary: Bool)] = []
        for input in definition.dependencies where producer[Int(input)] >= 0 {
            result.append((producer[Int(input)], false))
        }
        for input in definition.secondaryDependencies where producer[Int(input)] >= 0 {
            result.append((producer[Int(input)], true))
        }
        return result
    }

    /// The tasks a change to `changed` can make run: their readers (primary or secondary),
    /// then the readers of those tasks' outputs, and so on (tup's direction). The work is
    /// proportional to what is reached, never to the whole graph.
    public func affected(by changed: [Int32]) -> [Int32] {
        var reached = Set<Int32>()
        var order: [Int32] = []
        var artefacts = changed
        while let artefact = artefacts.popLast() {
            for task in readers[Int(artefact)] + secondaryReaders[Int(artefact)] where reached.insert(task).inserted {
                order.append(task)
                artefacts += tasks[Int(task)].outputs
            }
        }
        return order
    }

    /// The tasks that making `goals` takes (their producers, the producers of what those read,
    /// and so on, through primary and secondary inputs), and the files they read that no task
    /// makes (what must come from outside: the sources).
    public func closure(of goals: [Int32]) -> (tasks: Set<Int32>, sources: Set<Int32>) {
        var tasks = Set<Int32>()
        var sources = Set<Int32>()
        var seen = Set<Int32>()
        var artefacts = goals
        while let artefact = artefacts.popLast() {
            guard seen.insert(artefact).inserted else { continue }
            let task = producer[Int(artefact)]
            guard task >= 0 else {
                sources.insert(artefact)
                continue
            }
            if tasks.insert(task).inserted {
                artefacts += self.tasks[Int(task)].dependencies + self.tasks[Int(task)].secondaryDependencies
            }
        }
        return (tasks, sources)
    }

    /// The paths of `ids`.
    public func paths(_ ids: [Int32]) -> [String] { ids.map { artefacts[Int($0)] } }
}

extension BuildGraph {
    /// The argv of `task`: its rule's template with the task's files, the secondary inputs
    /// being those that `exists` says are there (a Chef rebuilds the same argv from a job).
    public func argv(of task: Int32, secondaryExists exists: (Int32) -> Bool) -> [String] {
        tasks[Int(task)].build.expand(values(of: task, secondaryExists: exists))
    }

    /// The file in which `task`'s tool reports what it read, if its rule says one.
    public func discoveryFile(of task: Int32) -> DiscoveryFile? {
        tasks[Int(task)].discovery?.file(values(of: task) { _ in true })
    }

    /// What the placeholders of `task`'s rule stand for.
    private func values(of task: Int32, secondaryExists exists: (Int32) -> Bool) -> ArgvTemplate.Values {
        let definition = tasks[Int(task)]
        let secondary = definition.secondaryDependencies.filter(exists)
        return .init(
            dependencies: paths(definition.dependencies), secondaryDependencies: paths(secondary),
            outputs: paths(definition.outputs), stem: definition.stem, mainFile: definition.mainFile,
            stage: Stage.path(task: definition.name))
    }

    /// Where `task`'s tool writes before its files are moved into place, if its rule says
    /// `{{stage}}` (relative to the project root).
    public func stage(of task: Int32) -> String? {
        tasks[Int(task)].build.usesStage ? Stage.path(task: tasks[Int(task)].name) : nil
    }
}
