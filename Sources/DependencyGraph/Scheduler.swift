import Foundation
import Hashing
import RulesManager

/// The build as a state machine (DESIGN §5), with no knowledge of processes, NATS or HTTP:
/// given the goals, the graph, the recorded state and the files, it hands out runnable tasks
/// (`next()`) and takes their results (`finished`). Components run in build order, independent
/// ones side by side. A task runs only when out of date; a cyclic component runs in passes,
/// its tasks in a stable order, until a pass leaves the artefacts that close the cycle as they
/// were (converged), an earlier pass's state comes back (oscillation: stop at once), or
/// `maxPasses` is reached (failure naming what kept changing).
public final class Scheduler {
    public let graph: BuildGraph
    public let components: Components
    public let maxPasses: Int
    private let store: BuildStateStore
    let files: FileStates
    /// One hasher for every task's signature.
    private let signer = try? SHA256Hasher()

    private enum State {
        case waiting, active, done, failed
    }

    private struct Cycle {
        var pass = 1
        var cursor = 0
        var ranThisPass = false
        var ranAny = false
        var start: [SHA256Digest?] = []
        var history: [[SHA256Digest?]] = []
        /// Discovered inputs that changed while a task of this pass ran (a chapter's `.aux`
        /// that the run read and wrote): the cycle has not settled, whatever `start` says.
        var discoveredChanged: Set<String> = []
    }

    /// Per component (`Slots`: only those considered take room after a change).
    private var state: Slots<State>
    /// Per component: the components it needs first, and those that need it.
    private var needs: Slots<[Int]>
    private var neededBy: Slots<[Int]>
    /// Per needed component: how many of the components it needs are not done yet.
    private var waitingOn: Slots<Int>
    /// Components that may advance now (all they need is done, or a task of theirs came
    /// back), first in first out: each hand-out costs what it touches, not the whole graph.
    private var ready: [Int] = []
    private var readyHead = 0
    private var needed: Slots<Bool>
    private var cycles: [Int: Cycle] = [:]
    private var feedback: [Int: [Int32]] = [:]
    /// Components with a task out at the moment.
    private var running: Set<Int> = []
    /// Per artefact: its digest as last looked at in this build (outer nil: not looked at yet).
    /// An array by id, so the thousand readers of one header find it without hashing its path.
    /// A file is looked at when a component that reads or writes it is first decided, and
    /// then once until a task that writes it runs; the inputs a task saw are what its record
    /// keeps, so a source edited while the build runs is seen by the next build if not by this.
    private var digests: Slots<SHA256Digest??>
    /// Per component: whether its files were looked at (see `lookAt`).
    private var lookedAt: Slots<Bool>
    /// The inputs each running task saw when it was handed out (declared, then discovered).
    private var seen: [Int32: (declared: [TaskRecord.File], discovered: [String: SHA256Digest?])] = [:]
    /// The digests of discovered inputs that no task of the graph reads or writes, by path,
    /// looked at once per build (a header read by a thousand compilations is looked at once).
    private var discoveredDigests: [String: SHA256Digest?] = [:]
    public private(set) var failures: [Failure] = []
    /// Per cyclic component: how it failed, if it did.
    private var cycleFailures: [Int: Failure] = [:]
    public private(set) var events: [Event] = []
    /// The tasks run so far, in order.
    public private(set) var ran: [String] = []

    /// A build of `graph`'s goals. With `changed` (tup's direction), only the tasks those
    /// artefacts can reach are considered, and only as far as the goals need them: every
    /// other task is taken as up to date, as the caller vouches (nothing it reads changed
    /// since a build left it up to date; a long-running MajorDomo knows this). The work is then
    /// proportional to what the change reaches, not to the graph.
    public init(
        graph: BuildGraph, components: Components, store: BuildStateStore, files: FileStates, maxPasses: Int = 5,
        changed: [Int32]? = nil
    ) {
        self.graph = graph
        self.components = components
        self.store = store
        self.files = files
        self.maxPasses = maxPasses
        let count = components.members.count
        let sparse = changed != nil
        state = Slots(repeating: .waiting, count: count, sparse: sparse)
        digests = Slots(repeating: nil, count: graph.artefacts.count, sparse: sparse)
        lookedAt = Slots(repeating: false, count: count, sparse: sparse)
        let (considered, candidates) = Self.considered(graph, components, changed: changed)
        needs = Self.prerequisites(of: candidates, among: considered, graph, components, sparse: sparse)
        // Only what the goals need, through primary and secondary inputs alike.
        needed = Slots(repeating: false, count: count, sparse: sparse)
        var stack = graph.goals.compactMap { goal -> Int? in
            let producer = graph.producer[Int(goal)]
            guard producer >= 0 else { return nil }
            let component = Int(components.componentOf[Int(producer)])
            return considered[component] ? component : nil
        }
        while let component = stack.popLast() {
            guard !needed[component] else { continue }
            needed[component] = true
            stack += needs[component]
        }
        for index in components.cycles where needed[index] { feedback[index] = components.feedback(index, in: graph) }
        neededBy = Slots(repeating: [], count: count, sparse: sparse)
        waitingOn = Slots(repeating: 0, count: count, sparse: sparse)
        for component in candidates.sorted() where needed[component] {
            waitingOn[component] = needs[component].count
            for other in needs[component] { neededBy[other].append(component) }
            if needs[component].isEmpty { ready.append(component) }
        }
    }

    /// The components to consider (a flag per component, and their list): all of them, or
    /// those a change reaches. A changed output (edited or deleted by hand) brings its
    /// producer, and so all that task writes.
    private static func considered(_ graph: BuildGraph, _ components: Components, changed: [Int32]?) -> (
        [Bool], [Int]
    ) {
        let count = components.members.count
        guard let changed else { return (Array(repeating: true, count: count), Array(0..<count)) }
        var producers: [Int32] = []
        var reached = changed
        for artefact in changed where graph.producer[Int(artefact)] >= 0 {
            let producer = graph.producer[Int(artefact)]
            producers.append(producer)
            reached += graph.tasks[Int(producer)].outputs
        }
        var considered = Array(repeating: false, count: count)
        var candidates: [Int] = []
        for task in producers + graph.affected(by: reached) {
            let component = Int(components.componentOf[Int(task)])
            if !considered[component] {
                considered[component] = true
                candidates.append(component)
            }
        }
        return (considered, candidates)
    }

    /// Per component of `candidates`: the considered components it needs first, once each.
    /// Found from each candidate's outputs to their readers, not from each reader's inputs: a
    /// change to one header reaches a link over 50,000 objects, and only the few hundred it
    /// reaches are walked, not the link's every input. A marker per component (the producer
    /// it last noted) keeps each pair once.
    private static func prerequisites(
        of candidates: [Int], among considered: [Bool], _ graph: BuildGraph, _ components: Components, sparse: Bool
    ) -> Slots<[Int]> {
        var needs = Slots<[Int]>(repeating: [], count: components.members.count, sparse: sparse)
        var marked = Slots(repeating: -1, count: components.members.count, sparse: sparse)
        for index in candidates {
            for task in components.members[index] {
                for output in graph.tasks[Int(task)].outputs {
                    for reader in [graph.readers[Int(output)], graph.secondaryReaders[Int(output)]].joined() {
                        let other = Int(components.componentOf[Int(reader)])
                        if other != index && considered[other] && marked[other] != index {
                            marked[other] = index
                            needs[other].append(index)
                        }
                    }
                }
            }
        }
        return needs
    }

    /// Each cyclic component the goals need, in build order, as it stands now.
    public var cycleProgress: [CycleProgress] {
        neededComponents.filter { components.isCyclic[$0] }.map { component in
            let tasks = components.members[component].map { graph.tasks[Int($0)].name }
            var progress = CycleProgress(tasks: tasks, pass: cycles[component]?.pass ?? 0, maxPasses: maxPasses)
            switch (state[component], cycleFailures[component]) {
            case (.failed, .oscillates(_, let period, let changing)?):
                progress.state = .oscillates
                progress.period = period
                progress.changing = changing
            case (.failed, .notConverged(_, _, let changing)?):
                progress.state = .notConverged
                progress.changing = changing
            case (.failed, _): progress.state = .failed
            case (.done, _): progress.state = cycles[component]?.ranAny == true ? .converged : .upToDate
            case (.active, _): progress.state = .running
            case (.waiting, _): progress.state = .waiting
            }
            return progress
        }
    }

    /// The components the goals need, in build order.
    public var neededComponents: [Int] { needed.ordered.filter(\.value).map(\.index) }

    /// Hands out the tasks that may run now (each once), at most `limit` of them: a caller
    /// that sends each away may send the first while the others are decided.
    public func next(limit: Int = .max) -> [Job] {
        var jobs: [Job] = []
        while readyHead < ready.count && jobs.count < limit {
            if !lookedAt[ready[readyHead]] {
                lookAt(ready[readyHead..<(ready.count - readyHead > limit ? readyHead + limit : ready.count)])
            }
            let component = ready[readyHead]
            readyHead += 1
            guard state[component] == .waiting || state[component] == .active, !running.contains(component) else {
                continue
            }
            state[component] = .active
            if let job = advance(component) {
                jobs.append(job)
                running.insert(component)
            } else if state[component] == .done {
                release(component)
            }
        }
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        }
        return jobs
    }

    /// `component` is done: what needed only it (and others done) may go.
    private func release(_ component: Int) {
        for other in neededBy[component] {
            waitingOn[other] -= 1
            if waitingOn[other] == 0 { ready.append(other) }
        }
    }

    /// A job came back: `succeeded` as its process said; its outputs are checked and hashed
    /// here. `discovered`: the files inside the project its tool reported reading (nil: it
    /// reported nothing, and what the last run discovered is kept).
    public func finished(_ job: Job, succeeded: Bool, message: String = "", discovered: [String]? = nil) {
        let component = Int(components.componentOf[Int(job.task)])
        running.remove(component)
        let task = graph.tasks[Int(job.task)]
        let (inputs, sawDiscovered) = seen.removeValue(forKey: job.task) ?? ([], [:])
        ran.append(task.name)
        for output in task.outputs {
            files.invalidate(graph.artefacts[Int(output)])
            digests[Int(output)] = nil
        }
        guard succeeded else {
            fail(component, .taskFailed(task: task.name, message: message))
            return
        }
        var outputs: [TaskRecord.File] = []
        var missing: [String] = []
        for output in task.outputs {
            let path = graph.artefacts[Int(output)]
            if let digest = digest(output) {
                outputs.append(TaskRecord.File(path, digest))
            } else {
                missing.append(path)
            }
        }
        guard missing.isEmpty else {
            fail(component, .missingOutputs(task: task.name, paths: missing))
            return
        }
        // A discovered input is recorded with what it held when the task was handed out, if it
        // was known then (an edit during the run is seen next time), else with what it holds now.
        let declared = Set(inputs.map(\.path) + outputs.map(\.path))
        let reported = (discovered ?? sawDiscovered.keys.sorted()).filter { !declared.contains($0) }
        if cycles[component] != nil {
            // In a cycle, a run may write what it reads (TeX's `.aux` of an `\include`d chapter):
            // look again at what it read, and go on with passes while such a file changes.
            for path in reported where sawDiscovered[path] != nil && graph.artefact(path) == nil {
                discoveredDigests[path] = nil
                if discoveredDigest(path) != sawDiscovered[path] { cycles[component]?.discoveredChanged.insert(path) }
            }
        }
        let found = reported.map { path in TaskRecord.File(path, sawDiscovered[path] ?? discoveredDigest(path)) }
        do {
            try store.save(
                TaskRecord(
                    signature: TaskRecord.signature(rule: task.rule, argv: job.argv, using: signer), inputs: inputs,
                    outputs: outputs, discovered: found),
                of: task.name)
        } catch {
            fail(component, .store("\(error)"))
            return
        }
        if cycles[component] != nil {
            cycles[component]?.ranThisPass = true
            cycles[component]?.ranAny = true
            ready.append(component)  // its pass goes on
        } else {
            state[component] = .done
            release(component)
        }
    }

    /// Why `task` would run now, or nil if it is up to date.
    public func reason(_ task: Int32) -> String? {
        let definition = graph.tasks[Int(task)]
        guard let record = try? store.record(of: definition.name) else { return "never built" }
        if record.signature != TaskRecord.signature(rule: definition.rule, argv: argv(task), using: signer) {
            return "its command changed"
        }
        var outputs = TaskRecord.Lookup(record.outputs)
        for (position, output) in definition.outputs.enumerated() {
            let path = graph.artefacts[Int(output)]
            guard let digest = digest(output) else { return "output '\(path)' is missing" }
            if outputs.digest(path, at: position) != .some(digest) {
                return "output '\(path)' was changed since it was built"
            }
        }
        var inputs = TaskRecord.Lookup(record.inputs)
        for (position, input) in definition.dependencies.enumerated() {
            let path = graph.artefacts[Int(input)]
            guard let then = inputs.digest(path, at: position) else { return "input '\(path)' is new" }
            if then != digest(input) { return "input '\(path)' changed" }
        }
        let offset = definition.dependencies.count
        for (position, input) in definition.secondaryDependencies.enumerated() {
            let path = graph.artefacts[Int(input)]
            let now = digest(input)
            let then = inputs.digest(path, at: offset + position) ?? nil
            if now != then {
                return then == nil
                    ? "input '\(path)' appeared"
                    : now == nil ? "input '\(path)' disappeared" : "input '\(path)' changed"
            }
        }
        for file in record.discovered {
            let now = discoveredDigest(file.path)
            if now != file.digest {
                return file.digest == nil
                    ? "input '\(file.path)' appeared (discovered)"
                    : now == nil
                        ? "input '\(file.path)' disappeared (discovered)" : "input '\(file.path)' changed (discovered)"
            }
        }
        return nil
    }

    /// A discovered input's digest now: as the graph's files are looked at when the graph
    /// knows it, else once per build.
    private func discoveredDigest(_ path: String) -> SHA256Digest? {
        if let id = graph.artefact(path) { return digest(id) }
        if let known = discoveredDigests[path] { return known }
        let found = files.digest(path)
        discoveredDigests[path] = .some(found)
        return found
    }

    /// The argv of `task` (its rule's template with the task's files).
    public func argv(_ task: Int32) -> [String] {
        graph.argv(of: task) { digest($0) != nil }
    }

    /// `id`'s digest now, looked at once per build (until a task that writes it runs).
    private func digest(_ id: Int32) -> SHA256Digest? {
        if let known = digests[Int(id)] { return known }
        let found = files.digest(graph.artefacts[Int(id)])
        digests[Int(id)] = .some(found)
        return found
    }

    // MARK: Internals

    /// Looks at the files that `components` (about to be decided) read or write and that were
    /// not looked at yet, all at once: `FileStates` may look at them side by side
    /// (`DiskFileStates` does, on every core). Only what is decided now is looked at: a change
    /// to one header does not look at the 50,000 inputs of a link that may never be reached.
    func lookAt(_ components: ArraySlice<Int>) {
        var ids: [Int32] = []
        var marked = Slots(repeating: false, count: graph.artefacts.count, sparse: components.count < 256)
        for component in components where !lookedAt[component] {
            lookedAt[component] = true
            for task in self.components.members[component] {
                let definition = graph.tasks[Int(task)]
                for id in [definition.dependencies, definition.secondaryDependencies, definition.outputs].joined()
                where digests[Int(id)] == nil && !marked[Int(id)] {
                    marked[Int(id)] = true
                    ids.append(id)
                }
            }
        }
        guard !ids.isEmpty else { return }
        for (id, digest) in zip(ids, files.digests(graph.paths(ids))) where digests[Int(id)] == nil {
            digests[Int(id)] = .some(digest)
        }
    }

    /// The component's next job, or nil when it finished (or failed) without one.
    private func advance(_ component: Int) -> Job? {
        let members = components.members[component]
        guard components.isCyclic[component] else {
            let task = members[0]
            if let missing = missingInput(task) {
                fail(component, missing)
                return nil
            }
            guard let why = reason(task) else {
                state[component] = .done
                return nil
            }
            return job(task, pass: 1, reason: why)
        }
        if cycles[component] == nil { cycles[component] = Cycle(start: snapshot(component)) }
        while true {
            let cycle = cycles[component]!
            if cycle.cursor < members.count {
                let task = members[cycle.cursor]
                cycles[component]?.cursor += 1
                if let missing = missingInput(task) {
                    fail(component, missing)
                    return nil
                }
                if let why = reason(task) { return job(task, pass: cycle.pass, reason: why) }
                continue
            }
            // The pass is over.
            let now = snapshot(component)
            let names = members.map { graph.tasks[Int($0)].name }
            let changing =
                zip(feedback[component] ?? [], zip(cycle.start, now)).filter { $0.1.0 != $0.1.1 }
                .map { graph.artefacts[Int($0.0)] } + cycle.discoveredChanged.sorted()
            if !cycle.ranThisPass || (now == cycle.start && cycle.discoveredChanged.isEmpty) {
                state[component] = .done
                if cycle.ranAny { events.append(.converged(component: component, passes: cycle.pass)) }
                return nil
            }
            // The state at the start of each pass so far; finding `now` among them is a loop.
            let states = cycle.history + [cycle.start]
            if cycle.discoveredChanged.isEmpty, let earlier = states.lastIndex(of: now) {
                fail(component, .oscillates(tasks: names, period: states.count - earlier, changing: changing))
                return nil
            }
            guard cycle.pass < maxPasses else {
                fail(component, .notConverged(tasks: names, passes: cycle.pass, changing: changing))
                return nil
            }
            cycles[component] = Cycle(
                pass: cycle.pass + 1, cursor: 0, ranThisPass: false, ranAny: true, start: now,
                history: cycle.history + [cycle.start])
        }
    }

    private func job(_ task: Int32, pass: Int, reason: String) -> Job {
        let definition = graph.tasks[Int(task)]
        let declared = (definition.dependencies + definition.secondaryDependencies).map {
            TaskRecord.File(graph.artefacts[Int($0)], digest($0))
        }
        var discovered: [String: SHA256Digest?] = [:]
        for file in (try? store.record(of: definition.name))?.discovered ?? [] {
            discovered[file.path] = .some(discoveredDigest(file.path))
        }
        seen[task] = (declared, discovered)
        return Job(
            task: task, name: definition.name, argv: argv(task), outputs: graph.paths(definition.outputs), pass: pass,
            reason: reason, discovery: graph.discoveryFile(of: task), stage: graph.stage(of: task))
    }

    private func missingInput(_ task: Int32) -> Failure? {
        let definition = graph.tasks[Int(task)]
        for input in definition.dependencies where digest(input) == nil {
            return .missingInput(task: definition.name, path: graph.artefacts[Int(input)])
        }
        return nil
    }

    private func snapshot(_ component: Int) -> [SHA256Digest?] {
        (feedback[component] ?? []).map { digest($0) }
    }

    private func fail(_ component: Int, _ failure: Failure) {
        state[component] = .failed
        failures.append(failure)
        if components.isCyclic[component] { cycleFailures[component] = failure }
    }
}
