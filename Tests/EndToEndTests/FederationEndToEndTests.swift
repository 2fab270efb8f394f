import CPModel
import Foundation
import Hashing
import RESTClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Several pods on one machine (DESIGN §3, issue 18): a hub `nats-server` with JetStream in
/// domain `hub` and the MajorDomo; pod `laptop`, a leaf node with the user's directory, its
/// watcher and an sshd; pod `b`, another leaf node with a Chef working in a directory of its
/// own, fetching inputs from the laptop by SFTP with strict host keys and putting outputs back.
@Suite(.serialized) struct FederationEndToEndTests {
    struct AddBody: Codable {
        var directory: String
        var sftp: String
    }

    struct Started: Codable { var id: String }
    struct BuildBody: Codable { var project: String }
    struct Detail: Codable {
        struct Summary: Codable { var id: String; var state: String; var jobs: Int }
        struct TaskRun: Codable { var task: String; var state: String; var chef: String?; var pass: Int }
        var build: Summary
        var tasks: [TaskRun]
    }

    /// The parts on their pods: the watcher on leaf A (pod `laptop`), the MajorDomo on the hub,
    /// a Chef `far` on leaf B (pod `b`, its own work directory, the laptop's sshd trusted through
    /// known_hosts), and a copy of `examples/EXAMPLE` added with the laptop's SFTP address.
    struct Pods {
        let scratch: TemporaryDirectory
        let project: String
        let watch: ChildProcess
        let majordomo: RunningMajorDomo
        let chef: ChildProcess
        var chefLog: String { scratch.file("chef.log") }
        var client: RESTClient { majordomo.overSocket }

        func finished(_ id: String) async throws -> Detail {
            var detail = try await client.get("/builds/\(id)", as: Detail.self)
            try await waitUntil(deadline: .seconds(180), "build \(id) to end") {
                detail = (try? await client.get("/builds/\(id)", as: Detail.self)) ?? detail
                return detail.build.state != "running"
            }
            return detail
        }

        func build(_ name: String) async throws -> Detail {
            try await finished(try await client.post("/builds", BuildBody(project: name), as: Started.self).id)
        }

        func context() -> String { "chef: \(readTail(of: chefLog))\nmajordomo: \(majordomo.log)" }

        func stop() async throws {
            chef.send(signal: SIGTERM)
            #expect(try await chef.waitForExit(deadline: .seconds(30)) == .exited(130))
            #expect(try await majordomo.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            _ = try await watch.waitForExit()
        }
    }

    /// A hub with domain `hub`, two leaf nodes and an sshd, then `body` with the pods on them.
    func withPods(
        _ example: String, expecting files: Set<String>,
        _ body: (Pods, NATSTestServer) async throws -> Void
    ) async throws {
        try await withNATSServer(jetStream: true, domain: "hub", hub: true) { hub in
            let hubLeaves = try #require(hub.leafURL)
            try await withNATSServer(leafOf: [hubLeaves]) { leafA in
                try await withNATSServer(leafOf: [hubLeaves]) { leafB in
                    try await withSSHServer { ssh in
                        let scratch = try TemporaryDirectory()
                        defer { scratch.remove() }
                        let pods = try await start(
                            example, expecting: files, hub: hub, leafA: leafA, leafB: leafB, ssh: ssh, scratch: scratch)
                        try await body(pods, leafB)
                        try await pods.stop()
                    }
                }
            }
        }
    }

    private func start(
        _ example: String, expecting files: Set<String>, hub: NATSTestServer, leafA: NATSTestServer,
        leafB: NATSTestServer, ssh: SSHTestServer, scratch: TemporaryDirectory
    ) async throws -> Pods {
        let project = try MajorDomoEndToEndTests().example(example, in: scratch)
        try FileManager.default.createDirectory(atPath: scratch.file("idle"), withIntermediateDirectories: true)
        let domain = ["--nats-domain", "hub"]
        let watch = try await ChildProcess.spawn(
            cpBinary,
            ["watch", "--nats-url", leafA.url, "--pod", "laptop", "--settle", "50ms", scratch.file("idle")] + domain,
            stdoutPath: scratch.file("watch.out"), stderrPath: scratch.file("watch.err"))
        try await waitUntil(deadline: .seconds(30), "cp watch to start") {
            readTail(of: scratch.file("watch.err")).contains("watches established") || !watch.isRunning
        }
        let majordomo = try await RunningMajorDomo.start(hub, scratch: scratch, extra: domain)
        let chef = try await ChildProcess.spawn(
            cpBinary,
            [
                "chef", "-v", "--nats-url", leafB.url, "--name", "far", "--pod", "b", "-j", "1", "--work-dir",
                scratch.file("work-b"), "--identity", ssh.clientKeyPath, "--known-hosts", ssh.knownHostsPath,
            ] + domain, stdoutPath: scratch.file("chef.out"), stderrPath: scratch.file("chef.log"))
        let pods = Pods(scratch: scratch, project: project, watch: watch, majordomo: majordomo, chef: chef)
        let sftp = "\(ssh.user)@127.0.0.1:\(ssh.port)"
        let added = try await pods.client.post(
            "/project/add", AddBody(directory: project, sftp: sftp), as: ProjectReply.self)
        struct File: Codable { var path: String }
        try await waitUntil(deadline: .seconds(30), "the watcher on the leaf to report the project's files") {
            let known = (try? await pods.client.get("/files/\(added.name)", as: [File].self)) ?? []
            return Set(known.map(\.path)).isSuperset(of: files)
        }
        return pods
    }

    /// The LaTeX example built by the Chef on pod `b` through two leaf nodes; then a
    /// bibliography edit rebuilt while pod `b`'s leaf server is killed mid-build and comes back
    /// 5 s later: the build completes, with each job run once and its result taken once.
    @Test func aChefOnAnotherLeafBuildsTheUsersLaTeXBySFTPAndOutlivesItsLinkCut() async throws {
        try await withPods("latex-paper", expecting: ["paper.tex", "refs.bib"]) { pods, leafB in
            try await cutDuringABuild(pods, leafB)
        }
    }

    private func cutDuringABuild(_ pods: Pods, _ leafB: NATSTestServer) async throws {
        let (scratch, paper, client, chefLog) = (pods.scratch, pods.project, pods.client, pods.chefLog)
        func finished(_ id: String) async throws -> Detail { try await pods.finished(id) }
        func context() -> String { pods.context() }

        // The first build: every input fetched from the laptop into pod b's mirror.
        let first = try await finished(
            try await client.post("/builds", BuildBody(project: "latex-paper"), as: Started.self).id)
        #expect(first.build.state == "succeeded", "\(first) \(context())")
        #expect(first.tasks.allSatisfy { $0.chef == "far" }, "\(first.tasks)")
        let mirrors = try FileManager.default.contentsOfDirectory(atPath: scratch.file("work-b/mirror/laptop"))
        #expect(mirrors.count == 1, "\(mirrors)")
        #expect(FileManager.default.fileExists(atPath: paper + "/paper.pdf"))

        // A bibliography entry edited while pod b's leaf server is down: the change builds by
        // itself, and its jobs wait in the hub's queue until the leaf is back 5 s after the cut.
        // (Cut first, so the build is surely under way during the cut however slow the machine;
        // a cut while a job runs is the Chef-killed case of the fault campaign.)
        struct Listed: Codable { var id: String; var state: String; var jobs: Int }
        func builds() async -> [Listed] { (try? await client.get("/builds", as: [Listed].self)) ?? [] }
        let earlier = Set(await builds().map(\.id))
        let before = jobLines(readTail(of: chefLog, maxBytes: 1 << 20))
        let cutAt = ContinuousClock.now
        try await leafB.kill9()
        let bib = paper + "/refs.bib"
        let entries = try String(contentsOfFile: bib, encoding: .utf8)
        try entries.replacingOccurrences(
            of: "A Program for Maintaining Computer Programs", with: "A Program for Keeping Programs Built"
        ).write(toFile: bib, atomically: true, encoding: .utf8)
        var cut: Listed?
        try await waitUntil(deadline: .seconds(60), "the change's build to start") {
            cut = await builds().first { !earlier.contains($0.id) }
            return cut != nil
        }
        // The outage itself: the 5 s with the leaf gone, not a wait for an event.
        try await Task.sleep(until: cutAt + .seconds(5))
        let during = try await client.get("/builds/\(try #require(cut).id)", as: Detail.self)
        #expect(during.build.state == "running", "\(during)")
        try await leafB.restart()
        // The build that was cut, or one that superseded it, ends with the edit built.
        var last = try #require(cut)
        try await waitUntil(deadline: .seconds(180), "the change's build to end") {
            guard let newest = await builds().first(where: { !earlier.contains($0.id) }) else { return false }
            last = newest
            return newest.state != "running"
        }
        let rebuilt = try await finished(last.id)
        #expect(rebuilt.build.state == "succeeded", "\(rebuilt) \(context())")
        #expect(rebuilt.tasks.first?.task == "bibliography", "\(rebuilt.tasks)")
        #expect(rebuilt.tasks.allSatisfy { $0.state == "succeeded" && $0.chef == "far" }, "\(rebuilt.tasks)")
        // No job of the builds since the edit ran twice on pod b, and none was lost.
        let ran = jobLines(readTail(of: chefLog, maxBytes: 1 << 20)).filter { !before.contains($0) }
        #expect(
            Set(ran).count == ran.count && ran.count >= rebuilt.build.jobs && rebuilt.build.jobs > 0,
            "\(ran) \(rebuilt) \(context())")
        let text = try await runProcess("pdftotext", [paper + "/paper.pdf", "-"])
        #expect(text.stdout.lowercased().contains("a program for keeping programs built"), "\(text.stdout)")
        // Nothing more to do.
        let again = try await pods.build("latex-paper")
        #expect(again.build.state == "succeeded" && again.build.jobs == 0, "\(again)")
    }

    /// The thesis with no definition files, its chapters pulled in by `\input` and `\include`,
    /// built on pod `b`: the first run of each task fetches the project's sources (nothing says
    /// yet which it reads); then a chapter edited is fetched as a file the engine reported
    /// reading, and its new text is in the PDF.
    @Test func aChefOnAnotherLeafBuildsAThesisWhoseChaptersItDiscovers() async throws {
        try await withPods("thesis", expecting: ["thesis.tex", "refs.bib", "chapters/results.tex"]) { pods, _ in
            let first = try await pods.build("thesis")
            #expect(first.build.state == "succeeded", "\(first) \(pods.context())")
            #expect(first.tasks.allSatisfy { $0.chef == "far" }, "\(first.tasks)")
            let text = try await runProcess("pdftotext", [pods.project + "/thesis.pdf", "-"])
            #expect(text.stdout.contains("The build converged"), "\(text.stdout.prefix(2000))")
            let chapter = pods.project + "/chapters/results.tex"
            try (try String(contentsOfFile: chapter, encoding: .utf8))
                .replacingOccurrences(of: "The build converged", with: "The build settled").write(
                    toFile: chapter, atomically: true, encoding: .utf8)
            struct Listed: Codable { var id: String; var state: String }
            let known = Set([first.build.id])
            var last: Listed?
            try await waitUntil(deadline: .seconds(180), "the chapter's build to end") {
                let listed = (try? await pods.client.get("/builds", as: [Listed].self)) ?? []
                last = listed.first { !known.contains($0.id) }
                return last.map { $0.state != "running" } ?? false
            }
            let rebuilt = try await pods.finished(try #require(last).id)
            #expect(rebuilt.build.state == "succeeded", "\(rebuilt) \(pods.context())")
            let newText = try await runProcess("pdftotext", [pods.project + "/thesis.pdf", "-"])
            #expect(newText.stdout.contains("The build settled") && !newText.stdout.contains("The build converged"))
        }
    }

    /// The job ids of the Chef's "job ID (TASK): OUTCOME in S s" lines, one per job it ran.
    private func jobLines(_ log: String) -> [String] {
        log.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: " job "),
                ["succeeded", "failed", "cancelled"].contains(where: { line.contains("): \($0) in ") })
            else { return nil }
            return String(line[range.upperBound...].prefix { !$0.isWhitespace })
        }
    }
}
