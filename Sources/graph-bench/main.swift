// bench/graph-*'s Swift side: times the dependency engine's pieces on a generated project.
//
//   graph-bench load DIR RULES            load a project: where the time goes, and a first plan
//   graph-bench incremental DIR RULES N   the rebuild set for N random header changes
//   graph-bench scc TASKS CYCLE           Tarjan on a generated graph with a CYCLE-task cycle
//   graph-bench dot DIR RULES FILE        DOT export of the project
import CPModel
import DependencyGraph
import Foundation
import Hashing
import RulesManager

let clock = ContinuousClock()
func seconds(_ duration: Duration) -> Double { duration.inSeconds }
func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = clock.now
    let value = try body()
    return (value, seconds(clock.now - start))
}
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("graph-bench: \(message)\n".utf8))
    exit(1)
}
func peakRSS() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
}

/// Loads a project, timing each phase (each phase alone, then the whole load).
func load(_ root: String, _ rules: String) -> (Project, [(String, Double)]) {
    do {
        let (_, tRules) = try timed { try RuleBook.load([rules]) }
        let (_, tWalk) = timed { _ = FileManager.default.enumerator(atPath: root).map { Array($0) } }
        let (_, tTasks) = try timed { try TaskDefinition.load([root + "/tasks.tyml"]) }
        let (_, tProjects) = try timed { try ProjectDefinition.load([root + "/project.pyml"]) }
        let (project, tAll) = try timed { try Project.load(root: root, rulePaths: [rules]) }
        let (_, tComponents) = timed { Components(project.graph) }
        let rest = max(0, tAll - tRules - tTasks - tProjects - tComponents)
        _ = tWalk
        return (
            project,
            [
                ("rules YAML", tRules), ("tasks YAML", tTasks), ("project YAML", tProjects),
                ("file walk + graph", rest), ("components", tComponents), ("total", tAll),
            ]
        )
    } catch {
        fail("\(error)")
    }
}

/// File contents as digests in memory: each path's digest is derived from its name, and
/// `change` gives one another for a while.
final class Digests: FileStates {
    private var digests: [String: SHA256Digest] = [:]
    private var saved: [String: SHA256Digest] = [:]

    init(_ paths: [String]) {
        for path in paths { digests[path] = try? SHA256Hasher.digest(of: Array(path.utf8)) }
    }

    func digest(_ path: String) -> SHA256Digest? { digests[path] }
    func invalidate(_ path: String) {}

    func change(_ path: String, _ round: Int) {
        saved[path] = digests[path]
        digests[path] = try? SHA256Hasher.digest(of: Array("\(path) \(round)".utf8))
    }

    func restore(_ path: String) { digests[path] = saved.removeValue(forKey: path) }
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: graph-bench load|incremental|scc|dot …") }
switch arguments[1] {
case "load":
    let (project, phases) = load(arguments[2], arguments[3])
    for (name, time) in phases { print(String(format: "%@ %.3f", name.replacingOccurrences(of: " ", with: "_"), time)) }
    print("tasks \(project.graph.tasks.count) artefacts \(project.graph.artefacts.count)")
case "incremental":
    let (project, _) = load(arguments[2], arguments[3])
    let graph = project.graph
    let headers = graph.artefacts.indices.filter { graph.artefacts[$0].hasSuffix(".h") }.map { Int32($0) }
    guard !headers.isEmpty else { fail("no headers in the project") }
    var random = SystemRandomNumberGenerator()
    var times: [Double] = []
    var sizes: [Int] = []
    for _ in 0..<(Int(arguments[4]) ?? 100) {
        let header = headers.randomElement(using: &random)!
        let (set, time) = timed { graph.affected(by: [header]) }
        // Exactly: the tasks that read the header, plus what reads their outputs (the link).
        let direct = Set(graph.readers[Int(header)])
        let expected = direct.union(direct.flatMap { graph.dependants(of: $0) })
        guard Set(set) == expected else { fail("the rebuild set differs from the expected one") }
        times.append(time * 1000)
        sizes.append(set.count)
    }
    times.sort()
    print(
        String(
            format: "median_ms %.4f p99_ms %.4f tasks_median %d", times[times.count / 2],
            times[min(times.count - 1, times.count * 99 / 100)], sizes.sorted()[sizes.count / 2]))
case "decide":
    // A whole build decision with the graph and the state in memory, as a MajorDomo holds
    // them: every task recorded as built, then one header's content changes. The scheduler
    // told what changed against one that checks every needed task.
    let (project, _) = load(arguments[2], arguments[3])
    let graph = project.graph
    let files = Digests(graph.artefacts)
    let store = InMemoryBuildStateStore()
    let full = Scheduler(graph: graph, components: project.components, store: store, files: files)
    for task in graph.tasks.indices {
        let definition = graph.tasks[task]
        let record = TaskRecord(
            signature: TaskRecord.signature(rule: definition.rule, argv: full.argv(Int32(task))),
            inputs: (definition.dependencies + definition.secondaryDependencies).map {
                TaskRecord.File(graph.artefacts[Int($0)], files.digest(graph.artefacts[Int($0)]))
            },
            outputs: definition.outputs.map {
                TaskRecord.File(graph.artefacts[Int($0)], files.digest(graph.artefacts[Int($0)]))
            })
        try! store.save(record, of: definition.name)
    }
    /// What a scheduler would run first: the tasks of its needed components that are out of date.
    func decide(_ changed: [Int32]?) -> (runs: Int, considered: Int) {
        let scheduler = Scheduler(
            graph: graph, components: project.components, store: store, files: files, changed: changed)
        var runs = 0
        var considered = 0
        for component in scheduler.neededComponents {
            for task in project.components.members[component] {
                considered += 1
                if scheduler.reason(task) != nil { runs += 1 }
            }
        }
        return (runs, considered)
    }
    guard decide(nil).runs == 0 else { fail("the recorded state is not up to date") }
    let headers = graph.artefacts.indices.filter { graph.artefacts[$0].hasSuffix(".h") }.map { Int32($0) }
    var random = SystemRandomNumberGenerator()
    var told: [Double] = []
    var everything: [Double] = []
    var considered: [Int] = []
    for round in 0..<(Int(arguments[4]) ?? 100) {
        let header = headers.randomElement(using: &random)!
        files.change(graph.artefacts[Int(header)], round)
        let (outcome, time) = timed { decide([header]) }
        // The header's readers are out of date; the link only may run (its inputs are rebuilt first).
        guard outcome.runs == graph.readers[Int(header)].count else { fail("told: \(outcome.runs) tasks would run") }
        told.append(time * 1000)
        considered.append(outcome.considered)
        if round < 10 {
            let (all, time) = timed { decide(nil) }
            guard all.runs == outcome.runs else {
                fail("the full decision differs: \(all.runs) against \(outcome.runs)")
            }
            everything.append(time * 1000)
        }
        files.restore(graph.artefacts[Int(header)])
    }
    told.sort()
    everything.sort()
    print(
        String(
            format: "told_median_ms %.3f told_p99_ms %.3f considered_median %d full_median_ms %.1f",
            told[told.count / 2], told[min(told.count - 1, told.count * 99 / 100)],
            considered.sorted()[considered.count / 2], everything[everything.count / 2]))
case "scc":
    let count = Int(arguments[2]) ?? 50_000
    let cycle = Int(arguments[3]) ?? 1_000
    var graph = BuildGraph()
    let template = try! ArgvTemplate.parse(["cc"])
    let location = SourceLocation(file: "generated", line: 1, column: 1)
    let headers = (0..<1000).map { graph.intern("h\($0).h") }
    var objects: [Int32] = []
    for index in 0..<count {
        let source = graph.intern("c\(index).c")
        let object = graph.intern("c\(index).o")
        let reads = [source] + (0..<7).map { headers[(index * 7 + $0 * 131) % headers.count] }
        graph.add(
            BuildGraph.Task(
                name: "cc\(index)", rule: "cc", dependencies: reads, secondaryDependencies: [], outputs: [object],
                build: template, stem: "", mainFile: "", location: location, fromPattern: false))
        objects.append(object)
    }
    graph.add(
        BuildGraph.Task(
            name: "link", rule: "link", dependencies: objects, secondaryDependencies: [],
            outputs: [graph.intern("app")],
            build: template, stem: "", mainFile: "", location: location, fromPattern: false))
    // A ring of CYCLE tasks, closed by a secondary edge.
    for index in 0..<cycle {
        let input = graph.intern("ring\(index)")
        let output = graph.intern("ring\((index + 1) % cycle)")
        graph.add(
            BuildGraph.Task(
                name: "ring\(index)", rule: "r", dependencies: index == cycle - 1 ? [] : [input],
                secondaryDependencies: index == cycle - 1 ? [input] : [], outputs: [output], build: template, stem: "",
                mainFile: "", location: location, fromPattern: false))
    }
    let (components, time) = timed { Components(graph) }
    let largest = components.cycles.map { components.members[$0].count }.max() ?? 0
    print(
        String(
            format: "nodes %d seconds %.3f cycles %d largest %d peak_rss_mib %.1f",
            graph.tasks.count + graph.artefacts.count, time, components.cycles.count, largest,
            Double(peakRSS()) / 1024))
case "dot":
    let (project, _) = load(arguments[2], arguments[3])
    let (text, time) = timed { GraphExport.dot(project.graph, project.components) }
    try? Data(text.utf8).write(to: URL(fileURLWithPath: arguments[4]))
    print(String(format: "seconds %.3f bytes %d", time, text.utf8.count))
default:
    fail("unknown command '\(arguments[1])'")
}
