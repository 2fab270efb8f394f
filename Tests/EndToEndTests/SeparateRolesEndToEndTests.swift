import Foundation
import RESTClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The roles as separate processes, as on several machines: `cp majordomo serve`, two
/// `cp chef`, `cp watch`, with `cp ctrl` for the user. A Chef killed with -9 in the middle of
/// a job loses nothing; the MajorDomo killed and started again reruns nothing up to date and
/// builds what changed while it was down.
@Suite(.serialized) struct SeparateRolesEndToEndTests {
    struct Summary: Codable { var id: String; var state: String; var trigger: String; var jobs: Int }
    struct TaskRun: Codable { var task: String; var state: String; var chef: String? }
    struct Detail: Codable { var build: Summary; var tasks: [TaskRun] }

    func chef(_ name: String, _ server: NATSTestServer, _ scratch: TemporaryDirectory) async throws -> ChildProcess {
        let chef = try await ChildProcess.spawn(
            cpBinary,
            [
                "chef", "--nats-url", server.url, "--name", name, "--pod", "laptop", "-j", "1", "--kind", "gated",
                "--rules", scratch.file("rules"), "--work-dir", scratch.file("work-\(name)"),
            ], stdoutPath: scratch.file("\(name).out"), stderrPath: scratch.file("\(name).log"))
        try await waitUntil(deadline: .seconds(30), "cp chef \(name) to start") {
            readTail(of: scratch.file("\(name).log")).contains("serves") || !chef.isRunning
        }
        return chef
    }

    @Test func aChefKilledMidJobAndTheMajorDomoKilledLoseNothing() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            try scratch.write(
                "rules/gated.ryml",
                """
                rules:
                  copy1: {dependencies: [], outputs: [], build: [/bin/cp, "{{input}}", "{{output}}"]}
                  gated:
                    dependencies: []
                    outputs: []
                    build: [sh, -c, "echo $PPID > ../holder; while [ ! -e ../gate ]; do kill -0 $PPID || exit 1; sleep 0.02; done; /bin/cp \\"$1\\" \\"$0\\"", "{{output}}", "{{input}}"]
                """)
            try scratch.write("p/in.txt", "in\n")
            try scratch.write("p/other.txt", "other\n")
            try scratch.write(
                "p/tasks.tyml",
                """
                tasks:
                  one: {rule: copy1, dependencies: [in.txt], outputs: [one.txt]}
                  two: {rule: gated, dependencies: [one.txt], outputs: [two.txt]}
                  side: {rule: copy1, dependencies: [other.txt], outputs: [side.txt]}
                """)
            let project = scratch.file("p")
            let tests = MajorDomoEndToEndTests()
            let watch = try await tests.startWatcher(server, scratch)
            let extra = ["--rules", scratch.file("rules"), "--ack-wait", "2s"]
            var majordomo = try await RunningMajorDomo.start(server, scratch: scratch, extra: extra)
            try await tests.addWatched(project, majordomo.overSocket, expecting: ["in.txt", "other.txt"])
            var chefs = ["a": try await chef("a", server, scratch), "b": try await chef("b", server, scratch)]

            // cp ctrl build follows the build; the Chef running the gated job is killed.
            let build = try await ChildProcess.spawn(
                cpBinary, ["ctrl", "--socket", majordomo.socket, "build", "-p", "p"],
                stdoutPath: scratch.file("build.out"), stderrPath: scratch.file("build.err"))
            // The job's shell says which Chef started it (its parent).
            var holder = ""
            try await waitUntil(deadline: .seconds(60), "the gated job to run") {
                guard let text = try? String(contentsOfFile: scratch.file("holder"), encoding: .utf8),
                    let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
                else { return false }
                holder = chefs.first { $0.value.pid == pid }?.key ?? "pid \(pid)"
                return true
            }
            let killed = try #require(chefs[holder], "the job's Chef is '\(holder)'")
            _ = try await killed.kill9()
            chefs[holder] = nil
            try scratch.write("gate", "")
            #expect(
                try await build.waitForExit(deadline: .seconds(120)) == .exited(0),
                "\(readTail(of: scratch.file("build.err")))")
            let survivor = try #require(chefs.keys.first)
            // (A job whose Chef was killed would go on by itself: this one gives up when its
            // Chef is gone, as the Chef does not yet take its jobs with it.)
            let builds = try await majordomo.overSocket.get("/builds", as: [Summary].self)
            let requested = try #require(builds.first { $0.trigger == "request" })
            let done = try await majordomo.overSocket.get("/builds/\(requested.id)", as: Detail.self)
            #expect(done.build.state == "succeeded" && done.build.jobs == 3, "\(done)")
            #expect(done.tasks.first { $0.task == "two" }?.chef == survivor, "\(done.tasks)")
            #expect(try String(contentsOfFile: project + "/two.txt", encoding: .utf8) == "in\n")

            // The MajorDomo killed; a file changes while it is down; started again, it builds
            // that change and nothing else.
            let before = Set(try await majordomo.overSocket.get("/builds", as: [Summary].self).map(\.id))
            _ = try await majordomo.process.kill9()
            try "changed\n".write(toFile: project + "/other.txt", atomically: true, encoding: .utf8)
            majordomo = try await RunningMajorDomo.start(server, scratch: scratch, extra: extra)
            var after: [Summary] = []
            try await waitUntil(deadline: .seconds(60), "the change made while it was down to be built") {
                after = (try? await majordomo.overSocket.get("/builds", as: [Summary].self)) ?? []
                return after.contains { !before.contains($0.id) && $0.state == "succeeded" }
            }
            let new = after.filter { !before.contains($0.id) }
            #expect(new.count == 1 && new[0].trigger == "change", "\(new)")
            let change = try #require(new.first)
            let changed = try await majordomo.overSocket.get("/builds/\(change.id)", as: Detail.self)
            #expect(changed.tasks.map(\.task) == ["side"] && change.jobs == 1, "\(changed)")
            #expect(try String(contentsOfFile: project + "/side.txt", encoding: .utf8) == "changed\n")
            let again = try await cp(["ctrl", "--socket", majordomo.socket, "build", "-p", "p"])
            #expect(again.status == 0 && again.stderr.contains("succeeded: up to date"), "\(again.stderr)")

            for chef in chefs.values { _ = try await chef.terminate() }
            #expect(try await majordomo.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            _ = try await watch.waitForExit()
        }
    }
}
