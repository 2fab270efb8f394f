import CPProtocol
import DependencyGraph
import Foundation
import Logging
import MajorDomo
import Synchronization
import TestSupport
import Testing

/// The repository's root, found from this file's path.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// What the core asked of watchers and announced, recorded.
final class Recorder: ProjectWatcher, RegistrationAnnouncer {
    let watched = Mutex<[(root: String, pod: String, logGlobs: [String])]>([])
    let announced = Mutex<[(Subjects.Announcement, [String])]>([])

    func watch(root: String, pod: String, logGlobs: [String]) async throws {
        watched.withLock { $0.append((root, pod, logGlobs)) }
    }

    func announce(_ what: Subjects.Announcement, names: [String]) async {
        announced.withLock { $0.append((what, names)) }
    }
}

/// The MajorDomo's core on a real SQLite file and real project directories, without NATS or
/// HTTP.
@Suite struct CoordinatorTests {
    let scratch: TemporaryDirectory
    let recorder = Recorder()

    init() throws { scratch = try TemporaryDirectory() }

    func coordinator(quiet: Duration = .milliseconds(500)) async throws -> Coordinator {
        var configuration = Coordinator.Configuration(rulePaths: [repository + "/rules"], pod: "laptop")
        configuration.registrationQuiet = quiet
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try await Coordinator(
            statePath: scratch.file("state/majordomo.db"), configuration: configuration, watcher: recorder,
            announcer: recorder, logger: logger)
    }

    /// A copy of `examples/NAME`.
    func example(_ name: String) throws -> String {
        let path = scratch.file(name)
        try FileManager.default.copyItem(atPath: repository + "/examples/" + name, toPath: path)
        return path
    }

    @Test func aProjectIsAddedListedAndKeptAcrossARestart() async throws {
        let root = try example("latex-paper")
        let core = try await coordinator()
        let added = try await core.addProject(directory: root, name: nil, pod: nil)
        #expect(added.name == "latex-paper" && added.root == root && added.pod == "laptop")
        #expect(added.cycles == 1 && added.tasks >= 2 && added.problem == nil)
        #expect(recorder.watched.withLock { $0.map(\.root) } == [root])
        #expect(try await core.targets("latex-paper").map(\.name) == added.targets)
        let dot = try await core.graph("latex-paper", format: .dot)
        #expect(dot.hasPrefix("digraph") && dot.contains("cluster_"))
        let definition = try await core.definition("latex-paper")
        #expect(definition.tasks.contains { $0.rule == "bibtex" })
        // One target: what building it takes, the cycle's tasks in their pass order, and
        // the files it needs from outside.
        let pdf = try await core.buildTarget("latex-paper", "pdf")
        #expect(pdf.target.outputs == ["paper.pdf"])
        #expect(pdf.tasks.map(\.rule).prefix(2) == ["pdflatex", "bibtex"])
        #expect(pdf.sources.contains("paper.tex") && pdf.sources.contains("refs.bib"))
        #expect(!pdf.sources.contains("paper.aux"))  // made by a task, not a source
        await #expect(
            throws: MajorDomoError.notFound("project 'latex-paper' has no target 'pfd' (did you mean 'pdf'?)")
        ) {
            try await core.buildTarget("latex-paper", "pfd")
        }
        // A new core on the same state has the project, loaded.
        let again = try await coordinator()
        #expect(await again.projectList() == [added])
        try await again.removeProject("latex-paper")
        #expect(await again.projectList().isEmpty)
        #expect(await (try coordinator()).projectList().isEmpty)
        #expect(FileManager.default.fileExists(atPath: root + "/paper.tex"))  // its files are untouched
    }

    /// A project on a pod other Chefs fetch from by SFTP: its address is checked, kept across a
    /// restart, can be changed, and is what jobs name as their source.
    @Test func aProjectsSFTPAddressIsCheckedKeptAndChanged() async throws {
        let root = try example("c-hello")
        let core = try await coordinator()
        for bad in [
            "", "me@", "host:0", "host:65536", "host:x", "a b", "host/path", "[::1", "me@host:22:/tmp", "we;rm@h",
        ] {
            let error = await #expect(throws: MajorDomoError.self) {
                try await core.addProject(directory: root, name: nil, pod: "a", sftp: bad)
            }
            #expect(error?.description.hasSuffix("expected [USER@]HOST[:PORT], such as build@laptop:22") == true)
        }
        #expect(await core.projectList().isEmpty)
        let added = try await core.addProject(directory: root, name: nil, pod: "a", sftp: "build@laptop.lan:2222")
        #expect(added.sftp == "build@laptop.lan:2222" && added.pod == "a")
        for good in ["laptop", "[::1]:22", "10.0.0.7"] {
            try await core.setSFTP(of: "c-hello", to: good)
            #expect(await (try coordinator()).projectList().first?.sftp == good)
        }
        try await core.setSFTP(of: "c-hello", to: nil)
        #expect(await (try coordinator()).projectList().first?.sftp == nil)
        await #expect(throws: MajorDomoError.self) { try await core.setSFTP(of: "c-hello", to: "bad host") }
    }

    @Test func badProjectsAreRefusedWithTheirReasonAndNothingRecorded() async throws {
        let root = try example("c-hello")
        let core = try await coordinator()
        await #expect(
            throws: MajorDomoError.badRequest(
                "'c-hello' is not an absolute path: give the project's directory from '/'")
        ) {
            try await core.addProject(directory: "c-hello", name: nil, pod: nil)
        }
        await #expect(throws: MajorDomoError.notFound("'\(root)/missing' does not exist")) {
            try await core.addProject(directory: root + "/missing", name: nil, pod: nil)
        }
        await #expect(
            throws: MajorDomoError.badRequest(
                "'../x' cannot be a project name: use a name without '/', control characters or a leading '.'")
        ) {
            try await core.addProject(directory: root, name: "../x", pod: nil)
        }
        _ = try await core.addProject(directory: root, name: "hello", pod: "pod2")
        await #expect(
            throws: MajorDomoError.conflict("a project called 'hello' exists already (its root is '\(root)')")
        ) {
            try await core.addProject(directory: try example("cyclic-codegen"), name: "hello", pod: nil)
        }
        await #expect(throws: MajorDomoError.conflict("'\(root)' is added already, as project 'hello'")) {
            try await core.addProject(directory: root + "/", name: "again", pod: nil)
        }
        // Definitions that do not load: the reason names the file and line.
        let broken = scratch.file("broken")
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try "tasks:\n  t: {rule: no-such-rule, dependencies: [a], outputs: [b]}\n".write(
            toFile: broken + "/tasks.tyml", atomically: true, encoding: .utf8)
        let error = await #expect(throws: MajorDomoError.self) {
            try await core.addProject(directory: broken, name: nil, pod: nil)
        }
        guard case .unprocessable(let reason)? = error else { throw error ?? MajorDomoError.failure("no error") }
        #expect(reason.contains("tasks.tyml' line 2") && reason.contains("unknown rule 'no-such-rule'"))
        #expect(await core.projectList().map(\.name) == ["hello"])
        await #expect(throws: MajorDomoError.notFound("no project 'helo' (did you mean 'hello'?)")) {
            try await core.targets("helo")
        }
    }

    @Test func registrationsAreKeptAndAnnouncedOnceTheyAreQuiet() async throws {
        let core = try await coordinator(quiet: .milliseconds(300))
        for (name, globs, log) in [("tex", ["*.tex"], false), ("latexLog", ["*.log"], true), ("bib", ["*.bib"], false)]
        {
            try await core.register(RegisterType(chefName: "latex-1", typeName: name, extensions: globs, isLog: log))
        }
        try await core.register(
            RegisterRule(
                chefName: "latex-1", ruleName: "pdflatex", theRule: .init(dependencies: ["%.tex"], outputs: ["%.pdf"])))
        try await waitUntil(deadline: .seconds(20), "the announcements") {
            recorder.announced.withLock { $0.count } >= 2
        }
        let announced = recorder.announced.withLock { $0 }
        #expect(announced.count == 2)  // one per kind, for the whole burst
        #expect(announced.first { $0.0 == .types }?.1 == ["bib", "latexLog", "tex"])
        #expect(announced.first { $0.0 == .rules }?.1 == ["pdflatex"])
        // A project added now is watched with the log types' globs; the registrations survive a restart.
        _ = try await core.addProject(directory: try example("c-hello"), name: nil, pod: nil)
        #expect(recorder.watched.withLock { $0.last?.logGlobs } == ["*.log"])
        #expect(try await coordinator().registeredTypes().count == 3)
    }

    @Test func filesReportedByAWatcherAreKeptPerProjectAndForgottenWithIt() async throws {
        let root = try example("c-hello")
        let core = try await coordinator()
        _ = try await core.addProject(directory: root, name: "hello", pod: nil)
        func report(_ reason: FileChange.Reason, _ path: String, sha: String?, pod: String = "laptop") async throws
            -> [String: [String]]
        {
            try await core.apply(
                FileChange(
                    reason: reason, root: root, path: path, exists: sha != nil, isDir: false, size: sha.map { _ in 1 },
                    mtime: sha.map { _ in 1 }, sha256: sha, mode: 0o644), pod: pod)
        }
        #expect(try await report(.rescanned, "hello.c", sha: "aa") == ["hello": ["hello.c"]])
        #expect(try await report(.changed, "greet.h", sha: "bb") == ["hello": ["greet.h"]])
        #expect(try await report(.changed, "greet.h", sha: "cc", pod: "elsewhere") == [:])  // another pod's files
        #expect(try await core.file("hello", "greet.h").artefact.sha256 == "bb")
        #expect(try await report(.deleted, "hello.c", sha: nil) == ["hello": ["hello.c"]])
        await #expect(throws: MajorDomoError.badRequest("the path '../x' is not a clean path relative to its root")) {
            try await report(.created, "../x", sha: "dd")
        }
        // Kept across a restart; forgotten with the project.
        let again = try await coordinator()
        #expect(try await again.files("hello").map(\.path) == ["greet.h"])
        try await again.removeProject("hello")
        _ = try await again.addProject(directory: root, name: "hello", pod: nil)
        #expect(try await again.files("hello").isEmpty)
    }

    @Test func whyIsAnsweredFromTheReportedFilesAndTheRecords() async throws {
        let root = try example("c-hello")
        let core = try await coordinator()
        _ = try await core.addProject(directory: root, name: "hello", pod: nil)
        #expect(try await core.why("hello", "hello.c").explanation == ["'hello.c' is a source file, and it is missing"])
        _ = try await core.apply(
            FileChange(
                reason: .rescanned, root: root, path: "hello.c", exists: true, isDir: false, size: 1, mtime: 1,
                sha256: String(repeating: "ab", count: 32), mode: 0o644), pod: "laptop")
        #expect(try await core.why("hello", "hello.c").explanation == ["'hello.c' is a source file"])
        #expect(
            try await core.why("hello", "hello").explanation == [
                "'hello' is out of date: task 'hello' [link] will run: never built"
            ])
        await #expect(throws: MajorDomoError.notFound("'nothing.c' is not in the graph (no task reads or writes it)")) {
            try await core.why("hello", "nothing.c")
        }
    }

    @Test func aTaskATooRegistersJoinsItsProjectAndIsKeptAndAnnounced() async throws {
        let root = try example("c-hello")
        let core = try await coordinator(quiet: .milliseconds(100))
        _ = try await core.addProject(directory: root, name: "hello", pod: nil)
        let copy = RegisterTask(
            chefName: "tool", project: "hello", taskName: "backup",
            theTask: .init(rule: "copy", dependencies: ["hello.c"], outputs: ["backup/hello.c"]))
        try await core.register(copy)
        #expect(
            try await core.definition("hello").tasks.contains {
                $0.name == "backup" && $0.outputs == ["backup/hello.c"]
            })
        try await waitUntil(deadline: .seconds(20), "registered.tasks") {
            recorder.announced.withLock { $0.contains { $0.0 == .tasks && $0.1.contains("backup") } }
        }
        // Refused, with nothing kept: a path that climbs, a rule that does not exist, no project.
        var climbing = copy
        climbing.theTask.outputs = ["../outside.c"]
        await #expect(
            throws: MajorDomoError.badRequest(
                "task 'backup': '../outside.c' is not a clean path relative to the project")
        ) {
            try await core.register(climbing)
        }
        var unknown = copy
        unknown.taskName = "other"
        unknown.theTask.rule = "nope"
        let error = await #expect(throws: MajorDomoError.self) { try await core.register(unknown) }
        guard case .unprocessable(let reason)? = error else { throw error ?? MajorDomoError.failure("no error") }
        #expect(reason.contains("register.tasks from chef 'tool'") && reason.contains("unknown rule 'nope'"))
        var elsewhere = copy
        elsewhere.project = "nope"
        await #expect(throws: MajorDomoError.self) { try await core.register(elsewhere) }
        // A MajorDomo started again on the state has the task.
        let again = try await coordinator()
        let tasks = try await again.definition("hello").tasks.map(\.name)
        #expect(tasks.contains("backup") && !tasks.contains("other"))
    }
}
