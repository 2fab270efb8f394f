import CPModel
import DependencyGraph
import Foundation
import Hashing
import RulesManager
import TestSupport
import Testing

/// Files in memory: what the scheduler sees, and what the fake tasks read and write.
final class MemoryFiles: FileStates {
    var contents: [String: String] = [:]
    /// Per task: its inputs and outputs just after its last run (to judge minimality).
    var afterLastRun: [String: [String]] = [:]
    /// Tasks that ran with inputs and outputs exactly as their last run left them.
    var needlessRuns: [String] = []

    func digest(_ path: String) -> SHA256Digest? {
        contents[path].map { try! SHA256Hasher.digest(of: Array($0.utf8)) }
    }

    func invalidate(_ path: String) {}

    /// A short hash of `text`, for the fake tasks' output.
    static func shortHash(_ text: String) -> String { String(try! SHA256Hasher.hex(of: Array(text.utf8)).prefix(8)) }
}

/// A generated project: tasks that are deterministic functions of their inputs.
struct World {
    /// How a task computes its outputs from what it reads.
    enum Behaviour {
        /// Each output is `core|render`: core from the primary inputs, render from the cores
        /// of the secondary inputs that exist (LaTeX's shape: a unique fixed point).
        case deterministic
        /// Counts its own runs through its own output: never converges.
        case counter
        /// Flips its output between two values: oscillates with period 2.
        case flipFlop
    }

    var graph = BuildGraph()
    var behaviour: [String: Behaviour] = [:]
    var sources: [String] = []

    mutating func addTask(
        _ name: String, inputs: [String], secondary: [String], outputs: [String],
        _ behaviour: Behaviour = .deterministic
    ) {
        let location = SourceLocation(file: "generated", line: 1, column: 1)
        graph.add(
            BuildGraph.Task(
                name: name, rule: "fake", dependencies: inputs.map { graph.intern($0) },
                secondaryDependencies: secondary.map { graph.intern($0) }, outputs: outputs.map { graph.intern($0) },
                build: try! ArgvTemplate.parse(["fake", "{{dependencies}}"]), stem: name, mainFile: inputs.first ?? "",
                location: location, fromPattern: false))
        self.behaviour[name] = behaviour
    }

    mutating func setGoals(_ goals: [String]) { graph.goals = goals.compactMap { graph.artefact($0) } }

    /// Runs `job` against `files`: what a real command would do.
    func simulate(_ job: Scheduler.Job, _ files: MemoryFiles) {
        let task = graph.tasks[Int(job.task)]
        // What it reads, as it reads it, and what it wrote: a run is needless when both are
        // as at its last run (a task reading its own output reads what it last wrote).
        let read = graph.paths(task.dependencies + task.secondaryDependencies).map { files.contents[$0] ?? "<none>" }
        let written = { graph.paths(task.outputs).map { files.contents[$0] ?? "<none>" } }
        if let last = files.afterLastRun[task.name], last == read + ["//"] + written() {
            files.needlessRuns.append(task.name)
        }
        defer { files.afterLastRun[task.name] = read + ["//"] + written() }
        let core = { (text: String?) in
            text.map { String($0.split(separator: "|", omittingEmptySubsequences: false)[0]) }
        }
        switch behaviour[task.name] ?? .deterministic {
        case .deterministic:
            // What a task takes from a generated file is its core (bibtex reads the citations
            // of the .aux, not its page numbers): so the fixed point is unique.
            let read = { (path: String) -> String? in
                let generated = graph.artefact(path).map { graph.producer[Int($0)] >= 0 } ?? false
                return generated ? core(files.contents[path]) : files.contents[path]
            }
            let primary = graph.paths(task.dependencies).map { read($0) ?? "?" }.joined(separator: ",")
            let secondary = graph.paths(task.secondaryDependencies).map { read($0) ?? "-" }.joined(separator: ",")
            for (index, output) in graph.paths(task.outputs).enumerated() {
                let digest = MemoryFiles.shortHash("\(task.name)#\(index):\(primary)")
                let render = MemoryFiles.shortHash(secondary)
                files.contents[output] = "\(digest)|\(render)"
            }
        case .counter:
            let output = graph.paths(task.outputs)[0]
            files.contents[output] = String((Int(files.contents[output] ?? "0") ?? 0) + 1)
        case .flipFlop:
            let output = graph.paths(task.outputs)[0]
            files.contents[output] = files.contents[output] == "A" ? "B" : "A"
        }
    }

    /// Builds to the end, sequentially; returns the scheduler (its `ran`, `failures`).
    @discardableResult
    /// Builds with jobs handed out `limit` at a time, each run as soon as handed out.
    func build(
        _ files: MemoryFiles, _ store: BuildStateStore, maxPasses: Int = 50, changed: [Int32]? = nil,
        limit: Int = .max
    ) -> Scheduler {
        let scheduler = Scheduler(
            graph: graph, components: Components(graph), store: store, files: files, maxPasses: maxPasses,
            changed: changed)
        while true {
            let jobs = scheduler.next(limit: limit)
            if jobs.isEmpty { break }
            for job in jobs {
                simulate(job, files)
                scheduler.finished(job, succeeded: true)
            }
        }
        return scheduler
    }

    /// A random project: `count` tasks over `sourceCount` sources; with `cyclic`, some tasks
    /// also read later tasks' outputs as secondary inputs (closing cycles).
    static func random(seed: UInt64, count: Int, sourceCount: Int, cyclic: Bool) -> World {
        var random = SeededRandom(seed: seed)
        var world = World()
        world.sources = (0..<sourceCount).map { "src/s\($0).txt" }
        var outputs: [String] = []
        var plan: [(String, [String], [String])] = []
        for index in 0..<count {
            var inputs = Set<String>()
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                inputs.insert(world.sources.randomElement(using: &random)!)
            }
            if !outputs.isEmpty {
                for _ in 0..<Int.random(in: 0...2, using: &random) {
                    inputs.insert(outputs.randomElement(using: &random)!)
                }
            }
            let mine = (0..<Int.random(in: 1...2, using: &random)).map { "out/t\(index)-\($0)" }
            plan.append(("t\(index)", inputs.sorted(), mine))
            outputs += mine
        }
        for (index, (name, inputs, mine)) in plan.enumerated() {
            var secondary: [String] = []
            if cyclic && Int.random(in: 0..<4, using: &random) == 0 {
                // A later (or its own) output read back: a cycle through a secondary edge.
                let later = plan[Int.random(in: index..<plan.count, using: &random)].2
                secondary = [later.randomElement(using: &random)!].filter { !inputs.contains($0) }
            }
            world.addTask(name, inputs: inputs, secondary: secondary, outputs: mine)
        }
        world.setGoals(outputs)
        return world
    }
}

@Suite struct SchedulerTests {
    /// After every incremental build the files equal a clean build's, and no task ran whose
    /// inputs and outputs were as at its last run.
    @Test(arguments: [(1 as UInt64, false), (2, false), (3, true), (4, true), (5, true)])
    func incrementalBuildsAreCorrectAndMinimal(seed: UInt64, cyclic: Bool) {
        let world = World.random(seed: seed, count: 150, sourceCount: 40, cyclic: cyclic)
        #expect(
            Components(world.graph).cycles.isEmpty == !cyclic,
            "seed \(seed): the graph should be \(cyclic ? "" : "a")cyclic")
        let files = MemoryFiles()
        for source in world.sources { files.contents[source] = "v0 of \(source)" }
        let store = InMemoryBuildStateStore()
        let first = world.build(files, store)
        #expect(first.failures.isEmpty, "\(first.failures)")
        var random = SeededRandom(seed: seed &* 7919)
        for round in 0..<12 {
            // A few random edits: new content, the same content rewritten, an output deleted.
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                switch Int.random(in: 0..<4, using: &random) {
                case 0, 1:
                    files.contents[world.sources.randomElement(using: &random)!] =
                        "v\(round)-\(Int.random(in: 0..<3, using: &random))"
                case 2:
                    let source = world.sources.randomElement(using: &random)!
                    files.contents[source] = files.contents[source]  // a touch: same bytes
                default:
                    let output = world.graph.artefacts.filter { $0.hasPrefix("out/") }.randomElement(using: &random)!
                    files.contents[output] = nil
                }
            }
            files.needlessRuns = []
            let scheduler = world.build(files, store)
            #expect(scheduler.failures.isEmpty, "seed \(seed) round \(round): \(scheduler.failures)")
            // Minimality: no task ran with its inputs and outputs as its last run left them.
            #expect(files.needlessRuns.isEmpty, "seed \(seed) round \(round): needless runs of \(files.needlessRuns)")
            // Correctness: the same files as a clean build.
            let clean = MemoryFiles()
            for source in world.sources { clean.contents[source] = files.contents[source] }
            let cleanBuild = world.build(clean, InMemoryBuildStateStore())
            #expect(cleanBuild.failures.isEmpty)
            #expect(clean.contents == files.contents, "seed \(seed) round \(round): incremental differs from clean")
            // And a build right after does nothing.
            #expect(world.build(files, store).ran.isEmpty, "seed \(seed) round \(round): a second build ran tasks")
        }
    }

    /// A build told what changed (tup's direction, as a MajorDomo would) runs exactly what a
    /// full build runs and leaves the same files, considering only what the change reaches.
    @Test(arguments: [(11 as UInt64, false), (12, true), (13, true)])
    func aBuildToldWhatChangedMatchesAFullBuild(seed: UInt64, cyclic: Bool) {
        let world = World.random(seed: seed, count: 150, sourceCount: 40, cyclic: cyclic)
        let (full, told) = (MemoryFiles(), MemoryFiles())
        for source in world.sources { full.contents[source] = "v0 of \(source)" }
        told.contents = full.contents
        let (fullStore, toldStore) = (InMemoryBuildStateStore(), InMemoryBuildStateStore())
        #expect(world.build(full, fullStore).failures.isEmpty)
        #expect(world.build(told, toldStore).failures.isEmpty)
        var random = SeededRandom(seed: seed &* 104_729)
        var narrower = 0
        for round in 0..<15 {
            var changed: [String] = []
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                switch Int.random(in: 0..<4, using: &random) {
                case 0, 1:
                    let source = world.sources.randomElement(using: &random)!
                    full.contents[source] = "v\(round)-\(Int.random(in: 0..<3, using: &random))"
                    changed.append(source)
                case 2:
                    changed.append(world.sources.randomElement(using: &random)!)  // a touch: same bytes
                default:
                    let output = world.graph.artefacts.filter { $0.hasPrefix("out/") }.randomElement(using: &random)!
                    full.contents[output] = nil
                    changed.append(output)
                }
            }
            for path in changed { told.contents[path] = full.contents[path] }
            let fullRun = world.build(full, fullStore)
            let toldRun = world.build(
                told, toldStore, changed: changed.compactMap { world.graph.artefact($0) }, limit: 1 + round % 4)
            #expect(toldRun.failures.isEmpty && fullRun.failures.isEmpty, "seed \(seed) round \(round)")
            #expect(toldRun.ran.sorted() == fullRun.ran.sorted(), "seed \(seed) round \(round)")
            #expect(told.contents == full.contents, "seed \(seed) round \(round): the files differ")
            if toldRun.neededComponents.count < fullRun.neededComponents.count { narrower += 1 }
        }
        #expect(narrower > 0, "seed \(seed): a build told what changed should consider less")
        // Told nothing changed, it considers nothing.
        let idle = Scheduler(
            graph: world.graph, components: Components(world.graph), store: toldStore, files: told, changed: [])
        #expect(idle.neededComponents.isEmpty && idle.next().isEmpty)
    }

    /// Jobs handed out a few at a time (the MajorDomo sends each batch before deciding the
    /// next) run the same tasks and leave the same files as all at once.
    @Test(arguments: [(21 as UInt64, false), (22, true)])
    func handingOutAFewAtATimeBuildsTheSame(seed: UInt64, cyclic: Bool) {
        let world = World.random(seed: seed, count: 120, sourceCount: 30, cyclic: cyclic)
        let (all, few) = (MemoryFiles(), MemoryFiles())
        for source in world.sources { all.contents[source] = "v0 of \(source)" }
        few.contents = all.contents
        let allRun = world.build(all, InMemoryBuildStateStore())
        let fewRun = world.build(few, InMemoryBuildStateStore(), limit: 3)
        #expect(allRun.failures.isEmpty && fewRun.failures.isEmpty)
        #expect(allRun.ran.count > 100)
        #expect(fewRun.ran.sorted() == allRun.ran.sorted())
        #expect(few.contents == all.contents)
    }

    /// A cycle runs pass after pass until a pass leaves its feedback artefacts as they were;
    /// the last pass reruns only what read a changed input. LaTeX's shape: pdflatex ⇄ bibtex.
    @Test func aLatexShapedCycleConvergesInThreePasses() {
        var world = World()
        world.sources = ["paper.tex", "refs.bib"]
        world.addTask(
            "pdflatex", inputs: ["paper.tex"], secondary: ["paper.aux", "paper.bbl"],
            outputs: ["paper.pdf", "paper.aux"])
        world.addTask("bibtex", inputs: ["paper.aux", "refs.bib"], secondary: [], outputs: ["paper.bbl"])
        world.setGoals(["paper.pdf"])
        let files = MemoryFiles()
        files.contents = ["paper.tex": "text", "refs.bib": "refs"]
        let store = InMemoryBuildStateStore()
        let scheduler = world.build(files, store)
        #expect(scheduler.failures.isEmpty)
        // latexmk's count on the real paper: pdflatex 3 times, bibtex twice.
        #expect(scheduler.ran == ["pdflatex", "bibtex", "pdflatex", "bibtex", "pdflatex"])
        #expect(scheduler.events.last == .converged(component: 0, passes: 3))
        // Editing the bibliography: bibtex, then pdflatex until the .aux settles.
        files.contents["refs.bib"] = "refs, edited"
        let again = world.build(files, store)
        #expect(again.ran == ["bibtex", "pdflatex", "bibtex", "pdflatex"])
        #expect(world.build(files, store).ran.isEmpty)
    }

    @Test func aCycleThatNeverSettlesFailsAfterMaxPassesNamingItsArtefacts() {
        var world = World()
        world.addTask("count", inputs: ["seed"], secondary: ["counter.txt"], outputs: ["counter.txt"], .counter)
        world.setGoals(["counter.txt"])
        let files = MemoryFiles()
        files.contents = ["seed": "x"]
        let scheduler = world.build(files, InMemoryBuildStateStore(), maxPasses: 5)
        #expect(scheduler.ran.count == 5)
        #expect(scheduler.failures == [.notConverged(tasks: ["count"], passes: 5, changing: ["counter.txt"])])
        #expect(
            "\(scheduler.failures[0])"
                == "the cycle count did not converge in 5 passes; still changing: counter.txt")
    }

    @Test func anOscillatingCycleStopsAtOnceWithItsPeriod() {
        var world = World()
        world.addTask("flip", inputs: ["seed"], secondary: ["state.txt"], outputs: ["state.txt"], .flipFlop)
        world.setGoals(["state.txt"])
        let files = MemoryFiles()
        files.contents = ["seed": "x"]
        let scheduler = world.build(files, InMemoryBuildStateStore(), maxPasses: 50)
        // Pass 1: nothing → A; pass 2: A → B; pass 3: B → A, the state after pass 1 again.
        #expect(scheduler.ran.count == 3)
        #expect(scheduler.failures == [.oscillates(tasks: ["flip"], period: 2, changing: ["state.txt"])])
    }

    @Test func aFailedTaskStopsItsDependantsButNotIndependentWork() throws {
        var world = World()
        world.addTask("a", inputs: ["a.src"], secondary: [], outputs: ["a.out"])
        world.addTask("after-a", inputs: ["a.out"], secondary: [], outputs: ["final-a"])
        world.addTask("b", inputs: ["b.src"], secondary: [], outputs: ["b.out"])
        world.setGoals(["final-a", "b.out"])
        let files = MemoryFiles()
        files.contents = ["a.src": "1", "b.src": "2"]
        let store = InMemoryBuildStateStore()
        let scheduler = Scheduler(graph: world.graph, components: Components(world.graph), store: store, files: files)
        var ran: [String] = []
        while true {
            let jobs = scheduler.next()
            if jobs.isEmpty { break }
            for job in jobs {
                ran.append(job.name)
                if job.name == "a" {
                    scheduler.finished(job, succeeded: false, message: "exit status 2")
                } else {
                    world.simulate(job, files)
                    scheduler.finished(job, succeeded: true)
                }
            }
        }
        #expect(Set(ran) == ["a", "b"])
        #expect(scheduler.failures == [.taskFailed(task: "a", message: "exit status 2")])
        #expect(try store.record(of: "a") == nil && store.record(of: "b") != nil)
    }

    @Test func aRecordInAnotherOrderIsCheckedByPath() throws {
        var world = World()
        world.addTask("t", inputs: ["a", "b"], secondary: ["c"], outputs: ["x"])
        world.setGoals(["x"])
        let files = MemoryFiles()
        files.contents = ["a": "1", "b": "2", "c": "3"]
        let store = InMemoryBuildStateStore()
        #expect(world.build(files, store).ran == ["t"])
        // Inputs recorded in another order (the definitions listed them so): found by path.
        var record = try #require(try store.record(of: "t"))
        record.inputs.reverse()
        try store.save(record, of: "t")
        #expect(world.build(files, store).ran.isEmpty)
        files.contents["b"] = "changed"
        let scheduler = Scheduler(graph: world.graph, components: Components(world.graph), store: store, files: files)
        #expect(scheduler.reason(0) == "input 'b' changed")
        record.inputs.removeAll { $0.path == "c" }
        try store.save(record, of: "t")
        #expect(scheduler.reason(0) == "input 'b' changed")
        files.contents["b"] = "2"
        let fresh = Scheduler(graph: world.graph, components: Components(world.graph), store: store, files: files)
        #expect(fresh.reason(0) == "input 'c' appeared")
    }

    @Test func aMissingInputAndAMissingOutputAreFailures() throws {
        var world = World()
        world.addTask("needs", inputs: ["absent.txt"], secondary: [], outputs: ["x"])
        world.setGoals(["x"])
        let scheduler = world.build(MemoryFiles(), InMemoryBuildStateStore())
        #expect(scheduler.failures == [.missingInput(task: "needs", path: "absent.txt")])

        var lazy = World()
        lazy.addTask("lazy", inputs: ["in"], secondary: [], outputs: ["promised"])
        lazy.setGoals(["promised"])
        let files = MemoryFiles()
        files.contents = ["in": "1"]
        let store = InMemoryBuildStateStore()
        let lazyScheduler = Scheduler(graph: lazy.graph, components: Components(lazy.graph), store: store, files: files)
        let jobs = lazyScheduler.next()
        lazyScheduler.finished(jobs[0], succeeded: true)  // claims success, wrote nothing
        #expect(lazyScheduler.failures == [.missingOutputs(task: "lazy", paths: ["promised"])])
        #expect(try store.record(of: "lazy") == nil)  // no record claims an output never written
    }
}
