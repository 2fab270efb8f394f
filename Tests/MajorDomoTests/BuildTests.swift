import CPProtocol
import Foundation
import Hashing
import Logging
import Synchronization
import TestSupport
import Testing

@testable import MajorDomo

/// The work queue, in memory: jobs are kept until the test plays the Chef.
final class QueuedJobs: JobQueue {
    let jobs = Mutex<[(Job, String)]>([])
    let cancelled = Mutex<[String]>([])

    func submit(_ job: Job, kind: String) async throws { jobs.withLock { $0.append((job, kind)) } }

    func cancel(_ jobID: String, reason: JobCancel.Reason) async { cancelled.withLock { $0.append(jobID) } }

    func take() -> [(Job, String)] {
        jobs.withLock { queued in
            defer { queued = [] }; return queued
        }
    }
}

/// Builds in the core, with the test as the Chef: jobs taken from an in-memory queue and run by
/// `StandInChef` in the project's directory.
@Suite struct BuildTests {
    let scratch: TemporaryDirectory
    let queue = QueuedJobs()
    let chef = Sender(pod: "laptop", role: "chef", name: "c1")

    init() throws { scratch = try TemporaryDirectory() }

    func coordinator(settle: Duration? = nil) async throws -> Coordinator {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var configuration = Coordinator.Configuration(rulePaths: [repository + "/rules"], pod: "laptop")
        configuration.settle = settle
        return try await Coordinator(
            statePath: scratch.file("state/majordomo.db"), configuration: configuration, jobQueue: queue, logger: logger
        )
    }

    /// Plays the Chef until no build runs and no change waits to become one; every build's
    /// summary, oldest first.
    func workUntilIdle(_ core: Coordinator) async throws -> [BuildSummary] {
        try await waitUntil(deadline: .seconds(60), "the builds to end") {
            for (job, _) in queue.take() {
                await core.finished(StandInChef.run(job, rulePaths: [repository + "/rules"]), chef: chef)
            }
            return await core.isIdle
        }
        return await core.buildList().reversed()
    }

    /// `text` written into `path` of the project, and reported.
    func edit(_ core: Coordinator, _ root: String, _ path: String, _ text: String) async throws {
        try text.write(toFile: root + "/" + path, atomically: true, encoding: .utf8)
        try await report(core, root, path)
    }

    /// `examples/c-hello` added, with every file reported as a watcher would.
    func helloProject(_ core: Coordinator) async throws -> String {
        let root = scratch.file("hello")
        if !FileManager.default.fileExists(atPath: root) {
            try FileManager.default.copyItem(atPath: repository + "/examples/c-hello", toPath: root)
        }
        _ = try await core.addProject(directory: root, name: "hello", pod: nil)
        for name in ["hello.c", "greet.c", "greet.h"] { try await report(core, root, name) }
        return root
    }

    func report(_ core: Coordinator, _ root: String, _ path: String) async throws {
        let absolute = root + "/" + path
        try await core.apply(
            FileChange(
                reason: .rescanned, root: root, path: path, exists: true, isDir: false, size: 1, mtime: 1,
                sha256: try SHA256Hasher.hex(ofFileAt: absolute), mode: 0o644), pod: "laptop")
    }

    func register(_ core: Coordinator, _ rules: [String], kind: String = "c") async throws {
        for rule in rules {
            try await core.register(
                RegisterRule(
                    chefName: "c1", chefKind: kind, ruleName: rule, theRule: .init(dependencies: [], outputs: [])))
        }
    }

    /// Plays the Chef until the build ends; the tasks run, in order.
    @discardableResult
    func work(_ core: Coordinator, _ build: String) async throws -> [String] {
        var ran: [String] = []
        while try await core.build(build).build.state == .running {
            let jobs = queue.take()
            let state = try await core.build(build)
            try #require(!jobs.isEmpty, "the build waits for nothing: \(state)")
            for (job, kind) in jobs {
                #expect(kind == "c")
                ran.append(job.task)
                await core.finished(StandInChef.run(job, rulePaths: [repository + "/rules"]), chef: chef)
            }
        }
        return ran
    }

    @Test func aBuildRunsWhatThePlanNeedsThenNothingThenOnlyWhatAChangeReaches() async throws {
        let core = try await coordinator()
        let root = try await helloProject(core)
        try await register(core, ["compile", "link"])
        let first = try await core.startBuild("hello", targets: [])
        #expect(Set(try await work(core, first.id)) == ["greet.o", "hello.o", "hello"])
        let done = try await core.build(first.id)
        #expect(done.build.state == .succeeded && done.build.jobs == 3 && done.build.failures.isEmpty)
        #expect(done.tasks.allSatisfy { $0.state == .succeeded && $0.chef == "c1" && $0.exitCode == 0 })
        #expect(try await runProcess(root + "/hello", []).stdout == "Hello, world!\n")
        #expect(try await core.file("hello", "hello").artefact.sha256?.count == 64)  // outputs recorded
        // Nothing changed: nothing runs, even for a MajorDomo started again on the same state.
        let again = try await coordinator().startBuild("hello", targets: [])
        #expect(again.state == .succeeded && again.jobs == 0)
        // A comment in the header: both objects recompile, identical; the link does not run.
        try (try String(contentsOfFile: root + "/greet.h", encoding: .utf8) + "/* comment */\n").write(
            toFile: root + "/greet.h", atomically: true, encoding: .utf8)
        try await report(core, root, "greet.h")
        let third = try await core.startBuild("hello", targets: ["hello"])
        #expect(Set(try await work(core, third.id)) == ["greet.o", "hello.o"])
        #expect(try await core.build(third.id).build.state == .succeeded)
    }

    @Test func aTaskWaitsForAChefThatOffersItsRuleAndAFailureFailsTheBuild() async throws {
        let core = try await coordinator()
        let root = try await helloProject(core)
        let build = try await core.startBuild("hello", targets: [])
        let waiting = try await core.build(build.id)
        #expect(waiting.build.state == .running && waiting.build.jobs == 0)
        #expect(waiting.tasks.map(\.reason).contains("waiting for a Chef that offers rule 'compile'"))
        #expect(waiting.tasks.allSatisfy { $0.state == .waiting })
        await #expect(throws: MajorDomoError.conflict("build '\(build.id)' of project 'hello' is running; wait for it"))
        {
            try await core.startBuild("hello", targets: [])
        }
        try "int main( {".write(toFile: root + "/hello.c", atomically: true, encoding: .utf8)
        try await report(core, root, "hello.c")
        try await register(core, ["compile", "link"])  // the waiting jobs go out
        try await work(core, build.id)
        let failed = try await core.build(build.id)
        #expect(failed.build.state == .failed)
        #expect(failed.build.failures.contains { $0.hasPrefix("task 'hello.o' failed") })
        #expect(failed.tasks.first { $0.task == "hello.o" }?.state == .failed)
        #expect(failed.tasks.contains { $0.task == "hello" } == false)  // what needs it never ran
    }

    @Test func aLateOrDuplicateResultIsIgnoredAndAnUnknownTargetIsNamed() async throws {
        let core = try await coordinator()
        _ = try await helloProject(core)
        try await register(core, ["compile", "link"])
        await #expect(throws: MajorDomoError.notFound("project 'hello' has no target 'nope'; its targets: hello")) {
            try await core.startBuild("hello", targets: ["nope"])
        }
        let build = try await core.startBuild("hello", targets: [])
        let (job, _) = try #require(queue.take().first)
        let result = StandInChef.run(job, rulePaths: [repository + "/rules"])
        await core.finished(result, chef: chef)
        let after = try await core.build(build.id)
        await core.finished(result, chef: chef)  // the same again: nothing changes
        #expect(try await core.build(build.id) == after)
        await core.finished(JobResult(jobId: "b0-1", result: .succeeded, exitCode: 0, elapsed: 0), chef: chef)
        #expect(try await core.build(build.id) == after)
    }

    @Test func changesSettleIntoOneIncrementalBuildAndATouchBuildsNothing() async throws {
        // A settle time no test outlasts: the burst is all in, whatever the machine's load; the
        // quiet time is then declared over by hand (the timer itself: the next test).
        let core = try await coordinator(settle: .seconds(600))
        let root = try await helloProject(core)
        try await register(core, ["compile", "link"])
        #expect(await core.buildList().isEmpty)  // a project never built is not built on a change
        let first = try await core.startBuild("hello", targets: [])
        try await work(core, first.id)
        // The same content again (a touch; what a task of ours just wrote): no change.
        try await report(core, root, "greet.c")
        try await report(core, root, "hello")
        #expect(await core.isIdle)
        // A burst of fifty saves: one pending change, one build of what the last content reaches.
        let greet = try String(contentsOfFile: root + "/greet.c", encoding: .utf8)
        for index in 1...50 {
            try await edit(core, root, "greet.c", greet.replacingOccurrences(of: "Hello", with: "Hello \(index)"))
        }
        let (pending, timers) = await (core.pendingChanges, core.settleTasks.count)
        #expect(pending == ["hello": ["greet.c"]] && timers == 1)
        await core.settled("hello")
        let builds = try await workUntilIdle(core)
        #expect(builds.map(\.trigger) == ["request", "change"])
        let change = try await core.build(builds[1].id)
        #expect(change.build.state == .succeeded && Set(change.tasks.map(\.task)) == ["greet.o", "hello"])
        #expect(try await runProcess(root + "/hello", []).stdout == "Hello 50, world!\n")
    }

    @Test func aChangeToAHeaderNoTaskNamesRebuildsWhatTheCompilerSaidItRead() async throws {
        let core = try await coordinator(settle: .seconds(600))
        let root = scratch.file("found")
        try scratch.write("found/lib/greet.h", "#define GREETING \"Hello\"\n")
        try scratch.write("found/lib/unused.h", "#define UNUSED 1\n")
        try scratch.write(
            "found/main.c",
            "#include <stdio.h>\n#include \"lib/greet.h\"\nint main(void) { puts(GREETING); return 0; }\n")
        try scratch.write("found/other.c", "int other(void) { return 1; }\n")
        try scratch.write(
            "found/tasks.tyml",
            "tasks:\n  hello:\n    rule: link\n    dependencies: [main.o, other.o]\n    outputs: [hello]\n")
        _ = try await core.addProject(directory: root, name: "found", pod: nil)
        for path in ["lib/greet.h", "lib/unused.h", "main.c", "other.c", "tasks.tyml"] {
            try await report(core, root, path)
        }
        try await register(core, ["compile", "link"])
        let first = try await core.startBuild("found", targets: [])
        try await work(core, first.id)
        #expect(try await runProcess(root + "/hello", []).stdout == "Hello\n")
        // The graph names no header; the records do, for main.c's compilation only.
        let why = try await core.why("found", "main.o")
        #expect(why.explanation == ["'main.o' is up to date (task 'compile:main.c' [compile])"])
        // A header no task reads and nothing discovered: no build.
        try await edit(core, root, "lib/unused.h", "#define UNUSED 2\n")
        await core.settled("found")
        let (idle, count) = await (core.isIdle, core.buildList().count)
        #expect(idle && count == 1)
        try await edit(core, root, "lib/greet.h", "#define GREETING \"Hello, header\"\n")
        let plan = try await core.why("found", "main.o")
        #expect(
            plan.explanation == [
                "'main.o' is out of date: task 'compile:main.c' [compile] will run: input 'lib/greet.h' changed (discovered)"
            ])
        await core.settled("found")
        let builds = try await workUntilIdle(core)
        #expect(builds.map(\.trigger) == ["request", "change"])
        let change = try await core.build(builds[1].id)
        #expect(change.build.state == .succeeded && Set(change.tasks.map(\.task)) == ["compile:main.c", "hello"])
        #expect(
            change.tasks.first { $0.task == "compile:main.c" }?.reason == "input 'lib/greet.h' changed (discovered)")
        #expect(try await runProcess(root + "/hello", []).stdout == "Hello, header\n")
    }

    @Test func anInferredProjectIsLoadedAgainWhenASourceChangesItsTasks() async throws {
        let core = try await coordinator(settle: .seconds(600))
        let root = scratch.file("inferred")
        try scratch.write("inferred/lib.c", "int twice(int x) { return 2 * x; }\n")
        try scratch.write(
            "inferred/app.c", "#include <stdio.h>\nint twice(int);\nint main(void) { printf(\"%d\\n\", twice(21)); }\n")
        _ = try await core.addProject(directory: root, name: "inferred", pod: nil)
        for path in ["lib.c", "app.c"] { try await report(core, root, path) }
        try await register(core, ["compile", "link"])
        #expect(await core.projectGraph("inferred")?.inferred.map(\.name) == ["app"])
        let first = try await core.startBuild("inferred", targets: [])
        try await work(core, first.id)
        #expect(try await runProcess(root + "/app", []).stdout == "42\n")
        // An edit that keeps the tasks: a change build of what it reaches.
        try await edit(core, root, "lib.c", "int twice(int x) { return x + x; }\n")
        await core.settled("inferred")
        // A new file with main: a second program, found by loading the project again.
        try await edit(core, root, "tool.c", "int twice(int);\nint main(void) { return twice(0); }\n")
        await core.settled("inferred")
        _ = try await workUntilIdle(core)
        #expect(await core.projectGraph("inferred")?.inferred.map(\.name) == ["app", "tool"])
        #expect(FileManager.default.isExecutableFile(atPath: root + "/tool"))
        let builds = await core.buildList().reversed().map(\.trigger)
        #expect(builds == ["request", "change", "change"])
    }

    @Test func aChangeDuringABuildSupersedesItAndTheNextBuildCoversBoth() async throws {
        let core = try await coordinator(settle: .milliseconds(200))
        let root = try await helloProject(core)
        try await register(core, ["compile", "link"])
        try await work(core, try await core.startBuild("hello", targets: []).id)
        let greet = try String(contentsOfFile: root + "/greet.c", encoding: .utf8)
        try await edit(core, root, "greet.c", greet.replacingOccurrences(of: "Hello", with: "Goodbye"))
        try await waitUntil(deadline: .seconds(30), "the change's build") { await core.buildList().count == 2 }
        let superseded = try #require(await core.buildList().first)
        #expect(superseded.state == .running && superseded.trigger == "change")
        // While its job is out, another file changes.
        let hello = try String(contentsOfFile: root + "/hello.c", encoding: .utf8)
        try await edit(core, root, "hello.c", hello.replacingOccurrences(of: "\"world\"", with: "\"moon\""))
        try await waitUntil(deadline: .seconds(30), "the running build to be superseded") {
            await core.buildList().first?.failures == ["superseded by newer changes"]
        }
        let builds = try await workUntilIdle(core)
        #expect(builds.count == 3)
        #expect(builds[1].state == .cancelled && builds[1].failures == ["superseded by newer changes"])
        #expect(builds[2].state == .succeeded && builds[2].trigger == "change")
        // The files are what a clean build makes of the sources as they are.
        #expect(try await runProcess(root + "/hello", []).stdout == "Goodbye, moon!\n")
        let again = try await core.startBuild("hello", targets: [])
        #expect(again.jobs == 0 && again.state == .succeeded)
    }

    /// What a tool writes beside its outputs (`paper.log`, `paper.blg`) and what a job out now
    /// writes, reported by the watcher before the job's result, are no changes to build.
    @Test func filesNoTaskReadsAndOutputsOfJobsOutNeverSupersedeABuild() async throws {
        let core = try await coordinator(settle: .seconds(600))
        let root = try await helloProject(core)
        try await register(core, ["compile", "link"])
        try await work(core, try await core.startBuild("hello", targets: []).id)
        let greet = try String(contentsOfFile: root + "/greet.c", encoding: .utf8)
        try await edit(core, root, "greet.c", greet.replacingOccurrences(of: "Hello", with: "Goodbye"))
        await core.settled("hello")
        let running = try #require(await core.buildList().first)
        #expect(running.state == .running && running.trigger == "change")
        try await edit(core, root, "compile.log", "warning: something\n")  // read by no task
        try await edit(core, root, "greet.o", "half-written object")  // the job out writes it
        #expect(await core.pendingChanges.isEmpty)
        let ran = try await work(core, running.id)
        #expect(ran == ["greet.o", "hello"])
        let done = try await core.build(running.id)
        #expect(done.build.state == .succeeded && done.build.failures.isEmpty)
        #expect(try await runProcess(root + "/hello", []).stdout == "Goodbye, world!\n")
        // Once no job writes it, an output changed behind the build's back is a change.
        try await edit(core, root, "greet.o", "damaged")
        #expect(await core.pendingChanges == ["hello": ["greet.o"]])
    }

    @Test func aCancelledBuildStopsItsJobsAndTheirLateResultsAreIgnored() async throws {
        let core = try await coordinator()
        _ = try await helloProject(core)
        try await register(core, ["compile", "link"])
        let build = try await core.startBuild("hello", targets: [])
        let out = queue.take()
        #expect(out.count == 2)  // both objects, side by side
        let cancelled = try await core.cancelBuild(build.id)
        #expect(cancelled.state == .cancelled && cancelled.failures == ["cancelled by the user"])
        #expect(Set(queue.cancelled.withLock { $0 }) == Set(out.map(\.0.jobId)))
        #expect(try await core.build(build.id).tasks.allSatisfy { $0.state == .cancelled })
        for (job, _) in out {
            await core.finished(StandInChef.run(job, rulePaths: [repository + "/rules"]), chef: chef)
        }
        #expect(try await core.build(build.id).build == cancelled)  // too late: nothing recorded
        await #expect(throws: MajorDomoError.conflict("build '\(build.id)' is not running: it cancelled")) {
            try await core.cancelBuild(build.id)
        }
        // Nothing was recorded of the cancelled jobs: the next build runs them.
        let next = try await core.startBuild("hello", targets: [])
        #expect(Set(try await work(core, next.id)) == ["greet.o", "hello.o", "hello"])
    }

    @Test func aTasksOutputIsKeptWithItsBuildBoundedAndChefsAreListed() async throws {
        let core = try await coordinator()
        _ = try await helloProject(core)
        try await register(core, ["compile", "link"])
        let build = try await core.startBuild("hello", targets: [])
        let (job, _) = try #require(queue.take().first)
        await core.appendLog(
            LogLines(jobId: job.jobId, task: job.task, stream: .stderr, lines: ["warning: one", "two"]))
        await core.appendLog(LogLines(jobId: "someone-else", task: job.task, stream: .stdout, lines: ["dropped"]))
        #expect(try await core.log(build.id, task: job.task) == "warning: one\ntwo\n")
        #expect(try await core.log(build.id, task: nil) == "[\(job.task)] warning: one\n[\(job.task)] two\n")
        let line = String(repeating: "x", count: 1023)
        await core.appendLog(
            LogLines(jobId: job.jobId, task: job.task, stream: .stdout, lines: Array(repeating: line, count: 1100)))
        let long = try await core.log(build.id, task: job.task).split(separator: "\n")
        #expect(
            long.count < 1100 && long.last?.hasPrefix("[cp: ") == true
                && long.last?.hasSuffix("the Chef keeps the whole log]") == true)
        await #expect(throws: MajorDomoError.notFound("build '\(build.id)' ran no task 'nope'")) {
            try await core.log(build.id, task: "nope")
        }
        // A Chef's heartbeat: alive, with what it registered.
        await core.heartbeat(
            from: chef,
            HeartbeatPayload(
                load: [0.5, 0.4, 0.3], jobs: .init(running: 1, capacity: 2), startedAt: "2026-12-04T10:00:00Z",
                version: "0.1.0"))
        let chefs = await core.chefList()
        #expect(chefs.map(\.name) == ["c1"] && chefs[0].alive && chefs[0].kinds == ["c"])
        #expect(chefs[0].rules == ["compile", "link"] && chefs[0].running == 1 && chefs[0].capacity == 2)
    }

    /// Memory stays flat however many builds run: an ended build leaves memory for its record
    /// once a newer build of its project has ended, and is still listed, shown, with its output
    /// read back from the store; cancelling it says it ended.
    @Test func anEndedBuildLeavesMemoryForItsRecordOnceANewerOneEnds() async throws {
        let core = try await coordinator()
        let root = try await helloProject(core)
        try await register(core, ["compile", "link"])
        let first = try await core.startBuild("hello", targets: [])
        _ = try await work(core, first.id)
        try (try String(contentsOfFile: root + "/greet.h", encoding: .utf8) + "/* again */\n").write(
            toFile: root + "/greet.h", atomically: true, encoding: .utf8)
        try await report(core, root, "greet.h")
        let second = try await core.startBuild("hello", targets: [])
        _ = try await work(core, second.id)
        let (retired, held) = (await core.holdsRun(first.id), await core.holdsRun(second.id))
        #expect(!retired && held)
        #expect(await core.buildList().map(\.id) == [second.id, first.id])
        let shown = try await core.build(first.id)
        #expect(shown.build.state == .succeeded && shown.tasks.count == 3)
        await #expect(throws: MajorDomoError.conflict("build '\(first.id)' is not running: it succeeded")) {
            try await core.cancelBuild(first.id)
        }
        #expect(await !core.buildsWithJobs.contains(first.id))
    }

    /// The events held stop at a byte bound as well as a count, so their memory stops growing
    /// early whatever their size; the newest are replayed.
    @Test func theEventsHeldStopAtAByteBound() {
        let log = EventLog()
        let big = String(repeating: "x", count: 2000)
        for _ in 0..<5000 { log.emit(.files, ["data": big]) }
        let bytes = log.held.reduce(0) { $0 + $1.data.utf8.count }
        #expect(bytes <= EventLog.byteCapacity + EventLog.byteCapacity / 4 && log.held.count < 5000)
        #expect(log.held.last?.id == 5000 && log.lastID == 5000)
    }

    @Test func buildsTasksFilesAndChefsAreEventsNumberedAndReplayed() async throws {
        let core = try await coordinator()
        _ = try await helloProject(core)
        try await register(core, ["compile", "link"])
        let live = await core.subscribe(after: nil, keepAlive: .milliseconds(100))
        let build = try await core.startBuild("hello", targets: [])
        try await work(core, build.id)
        var seen: [MajorDomoEvent] = []
        var ticks = 0
        for await delivery in live {
            switch delivery {
            case .event(let event): seen.append(event)
            case .keepAlive: ticks += 1
            }
            if ticks > 0 && seen.contains(where: { $0.kind == .build && $0.data.contains("\"succeeded\"") }) { break }
        }
        #expect(seen.map(\.id) == Array(seen.indices.map { seen[0].id + $0 }))  // numbered in order
        #expect(seen.first { $0.kind == .files }?.data.contains("\"project\":\"hello\"") == true)
        let kinds = seen.map(\.kind)
        // Three tasks out, three back.
        #expect(kinds.first(where: { $0 != .files }) == .build && kinds.filter { $0 == .task }.count == 6)
        // A subscriber that comes back after an event gets what followed it, first.
        let resumed = await core.subscribe(after: seen[2].id, keepAlive: .seconds(60))
        var iterator = resumed.makeAsyncIterator()
        guard case .event(let next)? = await iterator.next() else {
            Issue.record("no event replayed")
            return
        }
        #expect(next == seen[3])
        await core.endEventStreams()
        while await iterator.next() != nil {}  // ends
    }

    @Test func buildsTheirRunsAndOutputAreKeptForTheNextMajorDomo() async throws {
        let core = try await coordinator()
        _ = try await helloProject(core)
        try await register(core, ["compile", "link"])
        let build = try await core.startBuild("hello", targets: [])
        let out = queue.take().map(\.0)
        let job = try #require(out.first)
        await core.appendLog(LogLines(jobId: job.jobId, task: job.task, stream: .stdout, lines: ["compiling"]))
        for each in out { await core.finished(StandInChef.run(each, rulePaths: [repository + "/rules"]), chef: chef) }
        try await work(core, build.id)
        let done = try await core.build(build.id)
        // A MajorDomo started again on the state lists it, with its runs and their output.
        let next = try await coordinator()
        #expect(await next.buildList().map(\.id) == [build.id])
        #expect(try await next.build(build.id) == done)
        #expect(try await next.log(build.id, task: job.task) == "compiling\n")
    }

    @Test func aBuildInterruptedByAStopIsMarkedAndBuiltAgainWithoutWhatWasUpToDate() async throws {
        let core = try await coordinator()
        _ = try await helloProject(core)
        try await register(core, ["compile", "link"])
        let build = try await core.startBuild("hello", targets: [])
        let out = queue.take()
        let greet = try #require(out.first { $0.0.task == "greet.o" }?.0)
        await core.finished(StandInChef.run(greet, rulePaths: [repository + "/rules"]), chef: chef)
        // The MajorDomo stops here (hello.o still out) and a new one starts on the state.
        let next = try await coordinator()
        let stopped = try await next.build(build.id)
        #expect(stopped.build.state == .cancelled && stopped.build.failures == ["the MajorDomo stopped during it"])
        #expect(stopped.tasks.first { $0.task == "hello.o" }?.state == .cancelled)
        _ = queue.take()
        await next.resumeInterruptedBuilds()
        let resumed = try #require(await next.buildList().first)
        #expect(resumed.trigger == "resume")
        // Only what was in flight, and what needs it, runs: greet.o was recorded.
        #expect(Set(try await work(next, resumed.id)) == ["hello.o", "hello"])
        #expect(try await next.build(resumed.id).build.state == .succeeded)
    }
}
