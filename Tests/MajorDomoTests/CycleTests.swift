import CPProtocol
import Foundation
import Hashing
import Logging
import TestSupport
import Testing

@testable import MajorDomo

/// Cyclic components built by the MajorDomo as jobs, pass by pass: the LaTeX cycle converges
/// in the passes `cp graph build` takes, and an oscillating cycle stops and says so.
@Suite struct CycleTests {
    let scratch: TemporaryDirectory
    let queue = QueuedJobs()

    init() throws { scratch = try TemporaryDirectory() }

    /// A core over `rules`, with `project` (a directory in the scratch area) added and every
    /// file of it reported, and `offered` registered.
    func core(rules: String, project: String, offered: [String]) async throws -> Coordinator {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let core = try await Coordinator(
            statePath: scratch.file("state/md.db"), configuration: .init(rulePaths: [rules], pod: "laptop"),
            jobQueue: queue, logger: logger)
        _ = try await core.addProject(directory: project, name: "p", pod: nil)
        for path in try FileManager.default.subpathsOfDirectory(atPath: project) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: project + "/" + path, isDirectory: &isDirectory),
                !isDirectory.boolValue
            else { continue }
            try await core.apply(
                FileChange(
                    reason: .rescanned, root: project, path: path, exists: true, isDir: false, size: 1, mtime: 1,
                    sha256: try SHA256Hasher.hex(ofFileAt: project + "/" + path), mode: 0o644), pod: "laptop")
        }
        for rule in offered {
            try await core.register(
                RegisterRule(
                    chefName: "c1", chefKind: "k", ruleName: rule, theRule: .init(dependencies: [], outputs: [])))
        }
        return core
    }

    /// Plays the Chef until the build ends; each job's task and pass, in order.
    func work(_ core: Coordinator, _ build: String, rules: String) async throws -> [(String, Int)] {
        var ran: [(String, Int)] = []
        while try await core.build(build).build.state == .running {
            let jobs = queue.take()
            try #require(!jobs.isEmpty)
            for (job, _) in jobs {
                ran.append((job.task, job.pass))
                await core.finished(
                    StandInChef.run(job, rulePaths: [rules]), chef: Sender(pod: "laptop", role: "chef", name: "c1"))
            }
        }
        return ran
    }

    @Test func theLaTeXCycleConvergesInThePassesOfCpGraphBuild() async throws {
        let paper = scratch.file("paper")
        try FileManager.default.copyItem(atPath: repository + "/examples/latex-paper", toPath: paper)
        let rules = repository + "/rules"
        let core = try await core(rules: rules, project: paper, offered: ["pdflatex", "bibtex"])
        let build = try await core.startBuild("p", targets: [])
        let ran = try await work(core, build.id, rules: rules)
        // As latexmk and cp graph build: three pdflatex runs, two bibtex runs, passes in order.
        #expect(ran.filter { $0.0 == "paper" }.map(\.1) == [1, 2, 3])
        #expect(ran.filter { $0.0 == "bibliography" }.map(\.1) == [1, 2])
        let done = try await core.build(build.id)
        #expect(done.build.state == .succeeded)
        // What the web page shows: the cycle's group and its end, each run's times in order.
        #expect(
            done.build.cycles
                == [.init(tasks: ["paper", "bibliography"], pass: 3, maxPasses: 5, state: .converged)])
        for run in done.tasks {
            let (queued, started, ended) = (run.queued ?? 0, run.started ?? 0, run.ended ?? 0)
            #expect(queued > 0 && queued <= started && started <= ended, "\(run)")
        }
        #expect(FileManager.default.fileExists(atPath: paper + "/paper.pdf"))
        let again = try await core.startBuild("p", targets: [])
        #expect(again.jobs == 0 && again.state == .succeeded)
    }

    @Test func anOscillatingCycleStopsAndSaysSo() async throws {
        try scratch.write(
            "rules/flip.ryml",
            """
            rules:
              flip:
                dependencies: []
                secondaryDependencies: []
                outputs: []
                build: [sh, -c, "if grep -q a state.txt 2>/dev/null; then echo b > state.txt; else echo a > state.txt; fi"]
            """)
        try scratch.write("flipper/seed.txt", "go\n")
        try scratch.write(
            "flipper/tasks.tyml",
            "tasks:\n  flip: {rule: flip, dependencies: [seed.txt], secondaryDependencies: [state.txt], outputs: [state.txt]}\n"
        )
        let rules = scratch.file("rules")
        let core = try await core(rules: rules, project: scratch.file("flipper"), offered: ["flip"])
        let build = try await core.startBuild("p", targets: [])
        let ran = try await work(core, build.id, rules: rules)
        let done = try await core.build(build.id)
        #expect(done.build.state == .failed)
        #expect(done.build.failures.contains { $0.contains("oscillates with period 2") && $0.contains("state.txt") })
        #expect(done.build.cycles?.first?.state == .oscillates)
        #expect(done.build.cycles?.first?.period == 2 && done.build.cycles?.first?.changing == ["state.txt"])
        #expect(ran.count <= 5)  // it stops as soon as a state comes back, before maxPasses
    }
}
