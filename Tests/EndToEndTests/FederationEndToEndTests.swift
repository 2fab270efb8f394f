import CPModel
import Foundation
import Hashing
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
        struct Summary: Codable { var state: String; var jobs: Int }
        struct TaskRun: Codable { var task: String; var state: String; var chef: String?; var pass: Int }
        var build: Summary
        var tasks: [TaskRun]
    }

    /// The LaTeX example built by the Chef on pod `b` through two leaf nodes; then a
    /// bibliography edit rebuilt while pod `b`'s leaf server is killed mid-build and comes back
    /// 5 s later: the build completes, with each job run once and its result taken once.
    @Test func aChefOnAnotherLeafBuildsTheUsersLaTeXBySFTPAndOutlivesItsLinkCut() async throws {
        try await withNATSServer(jetStream: true, domain: "hub", hub: true) { hub in
            let hubLeaves = try #require(hub.leafURL)
            try await withNATSServer(leafOf: [hubLeaves]) { leafA in
                try await withNATSServer(leafOf: [hubLeaves]) { leafB in
                    try await withSSHServer { ssh in
                        try await build(hub: hub, leafA: leafA, leafB: leafB, ssh: ssh)
                    }
                }
            }
        }
    }

    private func build(hub: NATSTestServer, leafA: NATSTestServer, leafB: NATSTestServer, ssh: SSHTestServer)
        async throws
    {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let majorDomoTests = MajorDomoEndToEndTests()
        let paper = try majorDomoTests.example("latex-paper", in: scratch)
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
        let chefLog = scratch.file("chef.log")
        let chef = try await ChildProcess.spawn(
            cpBinary,
            [
                "chef", "-v", "--nats-url", leafB.url, "--name", "far", "--pod", "b", "-j", "1", "--work-dir",
                scratch.file("work-b"), "--identity", ssh.clientKeyPath, "--known-hosts", ssh.knownHostsPath,
            ] + domain, stdoutPath: scratch.file("chef.out"), stderrPath: chefLog)
        let client = majordomo.overSocket
        let sftp = "\(ssh.user)@127.0.0.1:\(ssh.port)"
        _ = try await client.post("/project/add", AddBody(directory: paper, sftp: sftp), as: ProjectReply.self)
        struct File: Codable { var path: String }
        try await waitUntil(deadline: .seconds(30), "the watcher on the leaf to report the project's files") {
            let known = (try? await client.get("/files/latex-paper", as: [File].self)) ?? []
            return Set(known.map(\.path)).isSuperset(of: ["paper.tex", "refs.bib"])
        }
        func finished(_ id: String) async throws -> Detail {
            var detail = try await client.get("/builds/\(id)", as: Detail.self)
            try await waitUntil(deadline: .seconds(180), "build \(id) to end") {
                detail = (try? await client.get("/builds/\(id)", as: Detail.self)) ?? detail
                return detail.build.state != "running"
            }
            return detail
        }
        func context() -> String { "chef: \(readTail(of: chefLog))\nmajordomo: \(majordomo.log)" }

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
        // Nothing more to do, and the laptop's directory holds no trace of pod b.
        let again = try await finished(
            try await client.post("/builds", BuildBody(project: "latex-paper"), as: Started.self).id)
        #expect(again.build.state == "succeeded" && again.build.jobs == 0, "\(again)")
        chef.send(signal: SIGTERM)
        #expect(try await chef.waitForExit(deadline: .seconds(30)) == .exited(130))
        #expect(try await majordomo.stop() == .exited(130))
        watch.send(signal: SIGTERM)
        _ = try await watch.waitForExit()
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
