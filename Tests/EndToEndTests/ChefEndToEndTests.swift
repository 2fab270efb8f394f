import CPProtocol
import Foundation
import Hashing
import Logging
import NATSClient
import RESTClient
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `cp chef` child on a real nats-server with JetStream.
final class RunningChef: Sendable {
    let process: ChildProcess
    let log: String

    /// Starts Chef `name` of kind `k` with `rules`, and waits until it takes work.
    static func start(
        _ server: NATSTestServer, scratch: TemporaryDirectory, name: String, rules: String, jobs: Int = 2,
        extra: [String] = []
    ) async throws -> RunningChef {
        let log = scratch.file("\(name).log")
        let process = try await ChildProcess.spawn(
            cpBinary,
            [
                "chef", "--nats-url", server.url, "--rules", rules, "--kind", "k", "--name", name, "--pod", "laptop",
                "-j", String(jobs), "--work-dir", scratch.file("work-\(name)"), "--heartbeat", "200ms", "-v",
            ] + extra, stdoutPath: scratch.file("\(name).out"), stderrPath: log)
        try await waitUntil(deadline: .seconds(30), "cp chef \(name) to start") {
            readTail(of: log, maxBytes: 65_536).contains("serves") || !process.isRunning
        }
        guard process.isRunning else {
            throw TestServerError.exitedEarly(
                what: "cp chef", status: process.exitStatus ?? .unknown, logTail: readTail(of: log))
        }
        return RunningChef(process: process, log: log)
    }

    private init(process: ChildProcess, log: String) {
        self.process = process
        self.log = log
    }
}

/// The MajorDomo's end of the work queue, for tests of the Chef alone: the jobs stream and
/// kind `k`'s consumer with short terms, a results stream that keeps what it is given, and a
/// reader of it.
final class JobDesk: Sendable {
    let client: NATSClient
    let jetStream: JetStream
    let results: PullConsumer
    let received = Mutex<[String: [JobResult]]>([:])

    static func open(_ server: NATSTestServer, ackWait: Duration = .seconds(30), maxDeliver: Int = 5) async throws
        -> JobDesk
    {
        var logger = Logger(label: "desk")
        logger.logLevel = .critical
        let client = try await NATSClient.connect(
            NATSOptions(urls: [server.url], name: "desk"),
            sender: Sender(pod: "laptop", role: "majordomo", name: "desk"),
            logger: logger)
        let jetStream = try JetStream(client.bulk)
        var jobs = StreamConfig(name: "CP_JOBS", subjects: [Subjects.buildFromAll])
        jobs.retention = .workQueue
        try await jetStream.createOrUpdateStream(jobs)
        try await jetStream.ensurePullConsumer(
            stream: "CP_JOBS", durable: "chef-k", filter: Subjects.buildFrom(kind: "k"), ackWait: ackWait,
            maxDeliver: maxDeliver)
        try await jetStream.createOrUpdateStream(StreamConfig(name: "CP_RESULTS", subjects: [Subjects.buildResultsAll]))
        let results = try await jetStream.pullConsumer(
            stream: "CP_RESULTS", durable: "desk", filter: Subjects.buildResultsAll)
        return JobDesk(client: client, jetStream: jetStream, results: results)
    }

    private init(client: NATSClient, jetStream: JetStream, results: PullConsumer) {
        self.client = client
        self.jetStream = jetStream
        self.results = results
    }

    func submit(_ job: Job) async throws {
        let body = try JSONEncoder().encode(Envelope(sender: client.sender, payload: job))
        _ = try await jetStream.publish(Subjects.buildFrom(kind: "k"), Array(body), messageID: job.jobId)
    }

    /// Reads results until `done` holds of them (every result of each job, by id).
    func wait(
        _ what: String, deadline: Duration = .seconds(60), until done: ([String: [JobResult]]) -> Bool
    ) async throws -> [String: [JobResult]] {
        try await waitUntil(deadline: deadline, what) {
            for message in (try? await results.fetch(batch: 1, timeout: .milliseconds(100))) ?? [] {
                if let result = try? JSONDecoder().decode(Envelope<JobResult>.self, from: Data(message.payload)) {
                    received.withLock { $0[result.payload.jobId, default: []].append(result.payload) }
                }
                try? message.ack()
            }
            return received.withLock { done($0) }
        }
        return received.withLock { $0 }
    }

    /// Messages left in the work queue.
    func queued() async throws -> Int {
        struct Info: Decodable { struct State: Decodable { var messages: Int }; var state: State }
        let info = try await client.requestRaw("$JS.API.STREAM.INFO.CP_JOBS", [])
        return try JSONDecoder().decode(Info.self, from: Data(info.payload)).state.messages
    }

    func close() async {
        results.close()
        try? await client.drain()
    }
}

@Suite(.serialized) struct ChefEndToEndTests {
    static let rules = """
        types:
          text: {extensions: ["*.txt"]}
        rules:
          tally:
            dependencies: []
            outputs: []
            build: [sh, -c, "mkdir -p active/$CP_CHEF && touch active/$CP_CHEF/$CP_JOB && echo $CP_CHEF $CP_JOB $(ls active/$CP_CHEF | wc -l) >> runs.log && sleep 0.02 && rm active/$CP_CHEF/$CP_JOB"]
          slow:
            dependencies: []
            outputs: [text]
            build: [sh, -c, "echo started by $CP_CHEF >> slow.log; echo started; sleep $0; echo done > {{output}}", "{{stem}}"]
          gated:
            dependencies: []
            outputs: [text]
            build: [sh, -c, "echo started by $CP_CHEF >> gated.log; until [ -e release ]; do sleep 0.05; done; echo done > {{output}}"]
          copy: {dependencies: [text], outputs: [text], build: [/bin/cp, "{{input}}", "{{output}}"]}
        """

    /// A scratch directory with the rules above in `rules/` and an empty project in `p/`.
    func scratch() throws -> TemporaryDirectory {
        let scratch = try TemporaryDirectory()
        _ = try scratch.write("rules/test.ryml", Self.rules)
        _ = try scratch.write("p/in.txt", "input\n")
        return scratch
    }

    func job(_ id: String, _ rule: String, root: String, stem: String = "", outputs: [String] = []) -> Job {
        var job = Job(
            jobId: id, buildId: "b", project: "p", task: id, rule: rule, inputs: [:], outputs: outputs,
            source: .init(pod: "laptop", root: root))
        job.placeholders.stem = stem
        return job
    }

    @Test func twoChefsOfOneKindShareTheJobsEachRunOnceNeverMoreThanTheirSlots() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try scratch()
            defer { scratch.remove() }
            let desk = try await JobDesk.open(server)
            let first = try await RunningChef.start(server, scratch: scratch, name: "one", rules: scratch.file("rules"))
            let second = try await RunningChef.start(
                server, scratch: scratch, name: "two", rules: scratch.file("rules"))
            let root = scratch.file("p")
            for index in 1...200 { try await desk.submit(job("j\(index)", "tally", root: root)) }
            let results = try await desk.wait("200 results") { $0.count == 200 }
            #expect(results.values.allSatisfy { $0.count == 1 && $0[0].result == .succeeded })
            let runs = try String(contentsOfFile: root + "/runs.log", encoding: .utf8).split(separator: "\n")
                .map { $0.split(separator: " ") }
            #expect(runs.count == 200)
            #expect(Set(runs.map { $0[1] }).count == 200)  // each job ran exactly once
            let byChef = Dictionary(grouping: runs, by: { String($0[0]) })
            #expect(Set(byChef.keys) == ["one", "two"], "both Chefs took work")
            #expect(runs.allSatisfy { Int($0[2])! <= 2 }, "a Chef with -j 2 ran three jobs at once")
            try await waitUntil(deadline: .seconds(10), "the queue to empty") { (try? await desk.queued()) == 0 }
            #expect(try await first.process.terminate() == .exited(130))
            #expect(try await second.process.terminate() == .exited(130))
            await desk.close()
        }
    }

    @Test func aChefKilledMidJobLosesNothingTheOtherRunsItAndItsResultIsCountedOnce() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try scratch()
            defer { scratch.remove() }
            let desk = try await JobDesk.open(server, ackWait: .seconds(2))
            let root = scratch.file("p")
            let doomed = try await RunningChef.start(
                server, scratch: scratch, name: "doomed", rules: scratch.file("rules"), jobs: 1)
            // The job cannot end before `release` exists, so the doomed Chef can never
            // answer it, however slowly this machine gets to the kill.
            try await desk.submit(job("long", "gated", root: root, outputs: ["long.txt"]))
            let log = root + "/gated.log"
            try await waitUntil(deadline: .seconds(30), "the job to start on the doomed Chef") {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("doomed") ?? false
            }
            _ = try await doomed.process.kill9()
            let survivor = try await RunningChef.start(
                server, scratch: scratch, name: "survivor", rules: scratch.file("rules"), jobs: 1)
            try await waitUntil(deadline: .seconds(30), "the job to start again on the survivor") {
                (try? String(contentsOfFile: log, encoding: .utf8))?.contains("survivor") ?? false
            }
            _ = try scratch.write("p/release", "")
            let results = try await desk.wait("the job's result") { $0["long"] != nil }
            #expect(results["long"]?.count == 1 && results["long"]?[0].result == .succeeded)
            // No second result comes, and nothing is left queued.
            try await desk.submit(job("after", "tally", root: root))
            let later = try await desk.wait("a later job's result") { $0["after"] != nil }
            #expect(later["long"]?.count == 1)
            try await waitUntil(deadline: .seconds(10), "the queue to empty") { (try? await desk.queued()) == 0 }
            #expect(try await survivor.process.terminate() == .exited(130))
            await desk.close()
        }
    }

    /// A job that runs four times the ack wait stays with its Chef: in-progress
    /// acknowledgements keep the idle Chef beside it from being given it too.
    @Test func aLongJobStaysWithItsChefThroughInProgressAcknowledgements() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try scratch()
            defer { scratch.remove() }
            let desk = try await JobDesk.open(server, ackWait: .seconds(1))
            let root = scratch.file("p")
            let busy = try await RunningChef.start(
                server, scratch: scratch, name: "busy", rules: scratch.file("rules"), jobs: 1)
            try await desk.submit(job("long", "slow", root: root, stem: "4", outputs: ["long.txt"]))
            try await waitUntil(deadline: .seconds(30), "the job to start") {
                FileManager.default.fileExists(atPath: root + "/slow.log")
            }
            let idle = try await RunningChef.start(
                server, scratch: scratch, name: "idle", rules: scratch.file("rules"), jobs: 1)
            let results = try await desk.wait("the result") { $0["long"] != nil }
            #expect(results["long"]?.count == 1 && results["long"]?.first?.result == .succeeded)
            let starts = try String(contentsOfFile: root + "/slow.log", encoding: .utf8).split(separator: "\n")
            #expect(starts.count == 1, "\(starts)")
            #expect(try await busy.process.terminate() == .exited(130))
            #expect(try await idle.process.terminate() == .exited(130))
            await desk.close()
        }
    }

    @Test func onSIGTERMAShortJobFinishesAndALongOneIsHandedBack() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try scratch()
            defer { scratch.remove() }
            let desk = try await JobDesk.open(server)
            let root = scratch.file("p")
            // Within the grace period: finished and answered before the Chef exits.
            let patient = try await RunningChef.start(
                server, scratch: scratch, name: "patient", rules: scratch.file("rules"), jobs: 1,
                extra: ["--grace", "20s"])
            try await desk.submit(job("short", "slow", root: root, stem: "1", outputs: ["short.txt"]))
            try await waitUntil(deadline: .seconds(30), "the short job to start") {
                (try? String(contentsOfFile: root + "/slow.log", encoding: .utf8))?.contains("patient") ?? false
            }
            #expect(try await patient.process.terminate(grace: .seconds(30)) == .exited(130))
            let results = try await desk.wait("the short job's result", deadline: .seconds(5)) { $0["short"] != nil }
            #expect(results["short"]?.first?.result == .succeeded)
            // Beyond it: killed and handed back to the queue, no result.
            let hasty = try await RunningChef.start(
                server, scratch: scratch, name: "hasty", rules: scratch.file("rules"), jobs: 1,
                extra: ["--grace", "300ms"])
            try await desk.submit(job("long", "slow", root: root, stem: "60", outputs: ["long.txt"]))
            try await waitUntil(deadline: .seconds(30), "the long job to start") {
                (try? String(contentsOfFile: root + "/slow.log", encoding: .utf8))?.contains("hasty") ?? false
            }
            let stopping = ContinuousClock.now
            #expect(try await hasty.process.terminate(grace: .seconds(30)) == .exited(130))
            #expect(ContinuousClock.now - stopping < .seconds(20))  // not the job's 60 s
            #expect(try await desk.queued() == 1)
            #expect(desk.received.withLock { $0["long"] } == nil)
            #expect(readTail(of: hasty.log).contains("1 job(s) still running after 0.3 seconds: handed back"))
            await desk.close()
        }
    }

    @Test func aCancelledJobIsKilledAndAnsweredCancelled() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try scratch()
            defer { scratch.remove() }
            let desk = try await JobDesk.open(server)
            let root = scratch.file("p")
            let chef = try await RunningChef.start(server, scratch: scratch, name: "c", rules: scratch.file("rules"))
            try await desk.submit(job("long", "slow", root: root, stem: "60", outputs: ["long.txt"]))
            try await waitUntil(deadline: .seconds(30), "the job to start") {
                FileManager.default.fileExists(atPath: root + "/slow.log")
            }
            try desk.client.publishNow(
                Subjects.buildCancel(jobId: "long"), JobCancel(jobId: "long", reason: .cancelledByUser))
            let results = try await desk.wait("the cancelled result", deadline: .seconds(20)) { $0["long"] != nil }
            #expect(results["long"]?.first?.result == .cancelled)
            #expect(!FileManager.default.fileExists(atPath: root + "/long.txt"))
            // A cancel that comes before its job: the job is answered without running.
            try desk.client.publishNow(
                Subjects.buildCancel(jobId: "early"), JobCancel(jobId: "early", reason: .superseded))
            try await desk.client.flush()
            try await desk.submit(job("early", "slow", root: root, stem: "60", outputs: ["early.txt"]))
            let early = try await desk.wait("the early-cancelled result", deadline: .seconds(20)) { $0["early"] != nil }
            #expect(early["early"]?.first?.result == .cancelled)
            #expect(early["early"]?.first?.details == "cancelled before it ran")
            #expect(try String(contentsOfFile: root + "/slow.log", encoding: .utf8).split(separator: "\n").count == 1)
            #expect(try await chef.process.terminate() == .exited(130))
            await desk.close()
        }
    }

    @Test func aMalformedJobIsReportedAndTheChefKeepsWorking() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try scratch()
            defer { scratch.remove() }
            let desk = try await JobDesk.open(server)
            let root = scratch.file("p")
            let failures = try desk.client.subscribe("failed.build.from.k")
            try await desk.client.flush()
            let chef = try await RunningChef.start(server, scratch: scratch, name: "c", rules: scratch.file("rules"))
            _ = try await desk.jetStream.publish(Subjects.buildFrom(kind: "k"), Array("not json".utf8))
            _ = try await desk.jetStream.publish(Subjects.buildFrom(kind: "k"), Array(#"{"v":1,"jobId":3}"#.utf8))
            var failed: [String] = []
            for await message in failures {
                failed.append(message.text)
                if failed.count == 2 { break }
            }
            // Two slots: the two may be answered in either order.
            #expect(
                failed.contains { $0.contains("not json") } && failed.contains { $0.contains("jobId") }, "\(failed)")
            // A job that names a rule this Chef does not offer, and one with a path out of the project.
            try await desk.submit(job("rm", "remove-everything", root: root))
            var escaping = job("escape", "copy", root: root, outputs: ["../out.txt"])
            escaping.inputs = ["in.txt": ""]
            try await desk.submit(escaping)
            try await desk.submit(job("fine", "tally", root: root))
            let results = try await desk.wait("three results") { $0.count == 3 }
            #expect(results["rm"]?.first?.details == "rule 'remove-everything' is not offered by chef c")
            #expect(results["escape"]?.first?.details == "path refused: '../out.txt' climbs out with '..'")
            #expect(results["fine"]?.first?.result == .succeeded)
            #expect(!FileManager.default.fileExists(atPath: scratch.file("out.txt")))
            #expect(try await chef.process.terminate() == .exited(130))
            await desk.close()
        }
    }

    @Test func itRegistersAtStartAndWhenAskedBeatsWithItsLoadAndAnswersHowTo() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try scratch()
            defer { scratch.remove() }
            var logger = Logger(label: "probe")
            logger.logLevel = .critical
            let probe = try await NATSClient.connect(
                NATSOptions(urls: [server.url], name: "probe"), sender: Sender(pod: "laptop", role: "test", name: "p"),
                logger: logger)
            let rules = try probe.messages(Subjects.register(.rules), as: RegisterRule.self)
            let types = try probe.messages(Subjects.register(.types), as: RegisterType.self)
            let beats = try probe.messages("heartbeat.chef.c", as: HeartbeatPayload.self)
            let answers = try probe.messages("build.canFrom.>", as: CanFrom.self)
            try await probe.flush()
            let chef = try await RunningChef.start(
                server, scratch: scratch, name: "c", rules: scratch.file("rules"), jobs: 3)
            var registered: [RegisterRule] = []
            for await rule in rules {
                registered.append(rule.envelope.payload)
                if registered.count == 8 { break }
                if registered.count == 4 { try probe.publish(Subjects.registerTypesAgain, Empty()) }
            }
            #expect(registered.map(\.ruleName) == ["copy", "gated", "slow", "tally", "copy", "gated", "slow", "tally"])
            #expect(registered.allSatisfy { $0.chefKind == "k" && $0.chefName == "c" })
            #expect(!registered.contains { $0.theRule.outputs.contains("sh") })  // what, never how
            for await type in types {
                #expect(type.envelope.payload == RegisterType(chefName: "c", typeName: "text", extensions: ["*.txt"]))
                break
            }
            for await beat in beats {
                #expect(beat.envelope.payload.jobs == .init(running: 0, capacity: 3))
                break
            }
            try probe.publish(Subjects.howTo(type: "text"), HowTo(goal: "out.txt", have: ["in.txt"]))
            var offered: [String] = []
            for await answer in answers {
                offered.append(answer.envelope.payload.ruleName)
                if offered.count == 3 { break }
            }
            #expect(offered == ["copy", "gated", "slow"])
            #expect(try await chef.process.terminate() == .exited(130))
            try await probe.drain()
        }
    }

    @Test func badRulesAndNoServerAreOneLineEach() async throws {
        let scratch = try scratch()
        defer { scratch.remove() }
        let missing = try await cp(["chef", "--rules", scratch.file("none"), "--nats-url", "nats://127.0.0.1:1"])
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("cp: chef: ") && missing.stderr.contains("no such file or directory"))
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        _ = try scratch.write("broken/bad.ryml", "rules: [not, a, map\n")
        let broken = try await cp(["chef", "--rules", scratch.file("broken"), "--nats-url", "nats://127.0.0.1:1"])
        #expect(broken.status == 2 && broken.stderr.contains("bad.ryml"), "\(broken.stderr)")
        let port = try freeLoopbackPort()
        let unreachable = try await cp(
            ["chef", "--rules", scratch.file("rules"), "--nats-url", "nats://127.0.0.1:\(port)", "-q"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.hasPrefix("cp: chef: "), "\(unreachable.stderr)")
        #expect(unreachable.stderr.split(separator: "\n").count == 1, "\(unreachable.stderr)")
    }
}

extension ChefEndToEndTests {
    /// The LaTeX example through the real parts: watcher, MajorDomo and `cp chef` with the
    /// bundled rules on one shared filesystem. The cycle converges, the PDF is made, the log of
    /// a pass is pdflatex's, and a second build runs nothing.
    @Test func theLaTeXExampleIsBuiltThroughTheMajorDomoByTheChef() async throws {
        let majorDomoTests = MajorDomoEndToEndTests()
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let paper = try majorDomoTests.example("latex-paper", in: scratch)
            let watch = try await majorDomoTests.startWatcher(server, scratch)
            let majordomo = try await RunningMajorDomo.start(server, scratch: scratch)
            let chef = try await ChildProcess.spawn(
                cpBinary,
                [
                    "chef", "--nats-url", server.url, "--name", "tex", "--pod", "laptop", "-j", "2", "--work-dir",
                    scratch.file("work"),
                ], stdoutPath: scratch.file("chef.out"), stderrPath: scratch.file("chef.log"))
            let client = majordomo.overSocket
            try await majorDomoTests.addWatched(paper, client, expecting: ["paper.tex", "refs.bib"])
            struct Started: Codable { var id: String }
            struct BuildBody: Codable { var project: String }
            struct Detail: Codable {
                struct Summary: Codable { var state: String; var jobs: Int }
                struct TaskRun: Codable { var task: String; var state: String; var chef: String?; var pass: Int }
                var build: Summary
                var tasks: [TaskRun]
            }
            func finished(_ id: String) async throws -> Detail {
                var detail = try await client.get("/builds/\(id)", as: Detail.self)
                try await waitUntil(deadline: .seconds(120), "build \(id) to end") {
                    detail = (try? await client.get("/builds/\(id)", as: Detail.self)) ?? detail
                    return detail.build.state != "running"
                }
                return detail
            }
            // The Chef registers its rules; the build waits for it if it comes late.
            let started = try await client.post("/builds", BuildBody(project: "latex-paper"), as: Started.self)
            let built = try await finished(started.id)
            #expect(
                built.build.state == "succeeded", "\(built) \(readTail(of: scratch.file("chef.log"))) \(majordomo.log)")
            #expect(built.tasks.allSatisfy { $0.chef == "tex" }, "\(built.tasks)")
            #expect(built.tasks.filter { $0.task == "paper" }.map(\.pass).max() ?? 0 >= 2)
            #expect(FileManager.default.fileExists(atPath: paper + "/paper.pdf"))
            let log = try await client.send("GET", "/builds/\(started.id)/log?task=paper")
            #expect(String(decoding: log.body, as: UTF8.self).contains("This is pdfTeX"))
            let again = try await client.post("/builds", BuildBody(project: "latex-paper"), as: Started.self)
            let nothing = try await finished(again.id)
            #expect(nothing.build.state == "succeeded" && nothing.build.jobs == 0, "\(nothing)")
            chef.send(signal: SIGTERM)
            #expect(try await chef.waitForExit(deadline: .seconds(30)) == .exited(130))
            #expect(try await majordomo.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            _ = try await watch.waitForExit()
        }
    }
}

extension ChefEndToEndTests {
    /// A Chef on pod `b` builds a job of a project on pod `a` over SFTP: inputs fetched and
    /// verified into its mirror, the output put back on `a`, then an unknown host refused.
    @Test func aChefOnAnotherPodFetchesInputsAndPutsOutputsBackBySFTP() async throws {
        try await withNATSServer(jetStream: true) { server in
            try await withSSHServer { ssh in
                let scratch = try scratch()
                defer { scratch.remove() }
                let desk = try await JobDesk.open(server)
                let chef = try await RunningChef.start(
                    server, scratch: scratch, name: "far", rules: scratch.file("rules"),
                    extra: ["--pod", "b", "--identity", ssh.clientKeyPath, "--known-hosts", ssh.knownHostsPath])
                let root = scratch.file("p")
                func copyJob(_ id: String, sftp: String) throws -> Job {
                    Job(
                        jobId: id, buildId: "b", project: "p", task: "copy", rule: "copy",
                        inputs: ["in.txt": try SHA256Hasher.hex(ofFileAt: root + "/in.txt")], outputs: ["sub/out.txt"],
                        source: .init(pod: "a", sftp: sftp, root: root),
                        placeholders: .init(dependencies: ["in.txt"], stem: "out", mainFile: "in.txt"))
                }
                try await desk.submit(try copyJob("far", sftp: "\(ssh.user)@127.0.0.1:\(ssh.port)"))
                let results = try await desk.wait("the job's result") { $0["far"] != nil }
                let result = try #require(results["far"]?.first)
                #expect(result.result == .succeeded, "\(result)")
                #expect(try String(contentsOfFile: root + "/sub/out.txt", encoding: .utf8) == "input\n")
                #expect(
                    result.outputs["sub/out.txt"]?.sha256 == (try SHA256Hasher.hex(ofFileAt: root + "/sub/out.txt")))
                let mirrors = try FileManager.default.contentsOfDirectory(atPath: scratch.file("work-far/mirror/a"))
                #expect(mirrors.count == 1 && mirrors[0].hasPrefix("p-"))
                // The same pod's project under a name known_hosts does not have: refused.
                try await desk.submit(try copyJob("stranger", sftp: "\(ssh.user)@localhost:\(ssh.port)"))
                let refused = try await desk.wait("the refusal") { $0["stranger"] != nil }
                #expect(refused["stranger"]?.first?.result == .failed)
                #expect(refused["stranger"]?.first?.details.contains("unknown host [localhost]:") == true)
                #expect(try await chef.process.terminate() == .exited(130))
                await desk.close()
            }
        }
    }
}
