import CPProtocol
import Foundation
import Logging
import NATSClient
import RESTClient
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `cp majordomo serve` child on a real nats-server with JetStream, talked to over its Unix
/// socket and TCP with the project's own REST client.
final class RunningMajorDomo: Sendable {
    let process: ChildProcess
    let scratch: TemporaryDirectory
    let socket: String
    let url: String

    /// Starts one with its state, socket and log in `scratch`, and waits until both listeners
    /// accept connections.
    static func start(
        _ server: NATSTestServer, scratch: TemporaryDirectory, extra: [String] = [], listen: String = "127.0.0.1:0"
    ) async throws -> RunningMajorDomo {
        let socket = scratch.file("run/majordomo.sock")
        let log = scratch.file("majordomo.log")
        try? FileManager.default.removeItem(atPath: log)
        let process = try await ChildProcess.spawn(
            cpBinary,
            [
                "majordomo", "serve", "--state", scratch.file("state"), "--socket", socket, "--listen", listen,
                "--nats-url", server.url, "--rules", GraphEndToEndTests.repository + "/rules", "--pod", "laptop",
            ] + extra, stdoutPath: scratch.file("majordomo.out"), stderrPath: log)
        var url = ""
        try await waitUntil(deadline: .seconds(30), "the MajorDomo to listen") {
            let text = readTail(of: log, maxBytes: 65_536)
            guard text.contains("listening on \(socket)"), let range = text.range(of: "listening on http://") else {
                return !process.isRunning  // gone: said below
            }
            url = "http://" + text[range.upperBound...].prefix { !$0.isWhitespace }
            return true
        }
        guard process.isRunning else {
            throw TestServerError.exitedEarly(
                what: "cp majordomo serve", status: process.exitStatus ?? .unknown, logTail: readTail(of: log))
        }
        return RunningMajorDomo(process: process, scratch: scratch, socket: socket, url: url)
    }

    private init(process: ChildProcess, scratch: TemporaryDirectory, socket: String, url: String) {
        self.process = process
        self.scratch = scratch
        self.socket = socket
        self.url = url
    }

    var overSocket: RESTClient { RESTClient(RESTOptions(endpoint: .unixSocket(socket))) }
    func overTCP(token: String? = nil) -> RESTClient { RESTClient(RESTOptions(endpoint: .url(url), token: token)) }
    var log: String { readTail(of: scratch.file("majordomo.log"), maxBytes: 65_536) }

    /// SIGTERM, and its exit status.
    func stop() async throws -> ChildExitStatus {
        process.send(signal: SIGTERM)
        return try await process.waitForExit(deadline: .seconds(30))
    }
}

/// Replies the tests read.
struct ProjectReply: Codable, Equatable {
    var name: String
    var root: String
    var pod: String
    var targets: [String]
    var tasks: Int
    var cycles: Int
}

struct TargetReply: Codable { var name: String; var outputs: [String] }
struct HealthReply: Codable { var status: String; var pod: String; var projects: Int }
struct AddBody: Codable { var directory: String; var name: String? }
struct NameBody: Codable { var name: String }
struct RemovedReply: Codable { var removed: String }

@Suite(.serialized) struct MajorDomoEndToEndTests {
    /// A copy of `examples/NAME` in `scratch`.
    func example(_ name: String, in scratch: TemporaryDirectory) throws -> String {
        let path = scratch.file(name)
        try FileManager.default.copyItem(atPath: GraphEndToEndTests.repository + "/examples/" + name, toPath: path)
        return path
    }

    /// `cp watch` of pod `laptop` on an idle directory, ready for watch requests.
    func startWatcher(_ server: NATSTestServer, _ scratch: TemporaryDirectory) async throws -> ChildProcess {
        try FileManager.default.createDirectory(atPath: scratch.file("idle"), withIntermediateDirectories: true)
        let watch = try await ChildProcess.spawn(
            cpBinary, ["watch", "--nats-url", server.url, "--pod", "laptop", "--settle", "50ms", scratch.file("idle")],
            stdoutPath: scratch.file("watch.out"), stderrPath: scratch.file("watch.err"))
        try await waitUntil(deadline: .seconds(30), "cp watch to start") {
            readTail(of: scratch.file("watch.err")).contains("watches established")
        }
        return watch
    }

    /// A nats-server with JetStream, a watcher of pod `laptop`, a MajorDomo, and a copy of
    /// `examples/c-hello` added, once the watcher has reported `files` of it (what a project
    /// holds is reported when it is watched).
    func withWatchedHello(
        expecting files: Set<String>, extra: [String] = [],
        _ body: (NATSTestServer, TemporaryDirectory, String, ChildProcess, RunningMajorDomo) async throws -> Void
    ) async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let hello = try example("c-hello", in: scratch)
            let watch = try await startWatcher(server, scratch)
            let majordomo = try await RunningMajorDomo.start(server, scratch: scratch, extra: extra)
            try await addWatched(hello, majordomo.overSocket, expecting: files)
            try await body(server, scratch, hello, watch, majordomo)
        }
    }

    /// Adds the project in `directory` and waits until its watcher has reported `files`.
    func addWatched(_ directory: String, _ client: RESTClient, expecting files: Set<String>) async throws {
        let project = try await client.post("/project/add", AddBody(directory: directory), as: ProjectReply.self)
        struct File: Codable { var path: String }
        try await waitUntil(deadline: .seconds(30), "the project's files") {
            let known = (try? await client.get("/files/\(project.name)", as: [File].self)) ?? []
            return Set(known.map(\.path)).isSuperset(of: files)
        }
    }

    @Test func projectsAreAddedListedAndKeptAcrossARestartOverTheSocketAndTCP() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let paper = try example("latex-paper", in: scratch)
            let majordomo = try await RunningMajorDomo.start(server, scratch: scratch)
            // The socket is this user's alone.
            let socket = try FileManager.default.attributesOfItem(atPath: majordomo.socket)
            let directory = try FileManager.default.attributesOfItem(atPath: scratch.file("run"))
            #expect((socket[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect((directory[.posixPermissions] as? NSNumber)?.intValue == 0o700)
            let health = try await majordomo.overSocket.get("/health", as: HealthReply.self)
            #expect(health.status == "ok" && health.pod == "laptop" && health.projects == 0)
            let added = try await majordomo.overSocket.post(
                "/project/add", AddBody(directory: paper, name: "my paper"), as: ProjectReply.self)
            #expect(added.name == "my paper" && added.root == paper && added.pod == "laptop" && added.cycles == 1)
            #expect(try await majordomo.overTCP().get("/projects", as: [ProjectReply].self) == [added])
            let targets = try await majordomo.overSocket.get("/project/targets/my%20paper", as: [TargetReply].self)
            #expect(targets.map(\.name) == added.targets && !targets.isEmpty)
            let dot = try await majordomo.overTCP().send("GET", "/graph/my%20paper?format=dot")
            #expect(String(decoding: dot.body, as: UTF8.self).contains("cluster_"))
            #expect(try await majordomo.stop() == .exited(130))
            // A new MajorDomo on the same state has it; remove forgets it.
            let again = try await RunningMajorDomo.start(server, scratch: scratch)
            #expect(try await again.overSocket.get("/projects", as: [ProjectReply].self) == [added])
            let removed = try await again.overSocket.post(
                "/project/remove", NameBody(name: "my paper"), as: RemovedReply.self)
            #expect(removed.removed == "my paper")
            #expect(try await again.overSocket.get("/projects", as: [ProjectReply].self).isEmpty)
            #expect(try await again.stop() == .exited(130))
        }
    }

    @Test func badRequestsGetAStatusAndOneMessage() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let hello = try example("c-hello", in: scratch)
            let majordomo = try await RunningMajorDomo.start(server, scratch: scratch)
            let client = majordomo.overSocket
            func refusal(_ method: String, _ path: String, _ body: String? = nil) async -> RESTError? {
                do {
                    _ = try await client.send(method, path, body: body.map { Array($0.utf8) })
                    return nil
                } catch {
                    return error
                }
            }
            #expect(
                await refusal("POST", "/project/add", "{\"dir")
                    == .http(status: 400, message: "the body is not the JSON expected: not JSON"))
            #expect(
                await refusal("POST", "/project/add", "[1]")
                    == .http(status: 400, message: "the body is not the JSON expected: not a JSON object"))
            #expect(
                await refusal("POST", "/project/add", "{\"directory\": 5}")
                    == .http(status: 400, message: "the body is not the JSON expected: 'directory' is not a string"))
            #expect(
                await refusal("POST", "/project/add", "{\"directory\": \"c-hello\"}")
                    == .http(
                        status: 400, message: "'c-hello' is not an absolute path: give the project's directory from '/'"
                    ))
            #expect(
                await refusal("GET", "/project/targets/nothing")
                    == .http(status: 404, message: "no project 'nothing'; none is added"))
            #expect(
                await refusal("GET", "/no/such/route") == .http(status: 404, message: "no route GET /no/such/route"))
            _ = try await client.post("/project/add", AddBody(directory: hello), as: ProjectReply.self)
            #expect(
                await refusal("POST", "/project/add", "{\"directory\": \"\(hello)\"}")
                    == .http(status: 409, message: "a project called 'c-hello' exists already (its root is '\(hello)')")
            )
            #expect(
                await refusal("GET", "/graph/c-hello?format=png")
                    == .http(status: 400, message: "unknown format 'png': use dot, json, mermaid or svg"))
            let big = "{\"directory\": \"" + String(repeating: "x", count: 2 << 20) + "\"}"
            #expect(
                await refusal("POST", "/project/add", big)
                    == .http(status: 413, message: "the body is larger than 1048576 bytes"))
            // Broken definitions: 422, naming the file and line; nothing was added.
            try scratch.write("broken/tasks.tyml", "tasks:\n  t: {rule: nope, dependencies: [a], outputs: [b]}\n")
            let broken = await refusal("POST", "/project/add", "{\"directory\": \"\(scratch.file("broken"))\"}")
            guard case .http(let status, let message)? = broken else { throw RESTError.body("no refusal") }
            #expect(status == 422 && message.contains("tasks.tyml' line 2") && message.contains("unknown rule 'nope'"))
            #expect(try await client.get("/projects", as: [ProjectReply].self).map(\.name) == ["c-hello"])
            #expect(try await majordomo.stop() == .exited(130))
        }
    }

    @Test func aSecondMajorDomoOnTheSameStateIsRefusedNamingTheFirst() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let first = try await RunningMajorDomo.start(server, scratch: scratch)
            let second = try await cp([
                "majordomo", "serve", "--state", scratch.file("state"), "--socket", scratch.file("other.sock"),
                "--listen", "127.0.0.1:0", "--nats-url", server.url,
            ])
            #expect(second.status == 1)
            #expect(
                second.stderr
                    == "cp: majordomo: another MajorDomo uses the state in '\(scratch.file("state"))' (pid \(first.process.pid))\n"
            )
            #expect(try await first.stop() == .exited(130))
        }
    }

    @Test func beyondLoopbackATokenIsRequiredAndChecked() async throws {
        let refused = try await cp(["majordomo", "serve", "--listen", "0.0.0.0:0", "--nats-url", "nats://127.0.0.1:1"])
        #expect(refused.status == 2)
        #expect(
            refused.stderr
                == "cp: majordomo: listening on 0.0.0.0:0 serves other machines: give --token-file FILE, or listen on 127.0.0.1\n"
        )
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            try "s3cret-token\n".write(toFile: scratch.file("token"), atomically: true, encoding: .utf8)
            let majordomo = try await RunningMajorDomo.start(
                server, scratch: scratch, extra: ["--token-file", scratch.file("token")], listen: "0.0.0.0:0")
            let port = majordomo.url.split(separator: ":").last.map(String.init) ?? ""
            let loopback = "http://127.0.0.1:\(port)"
            let anonymous = RESTClient(RESTOptions(endpoint: .url(loopback)))
            await #expect(
                throws: RESTError.http(
                    status: 401, message: "this MajorDomo needs 'Authorization: Bearer TOKEN' (its --token-file)")
            ) {
                try await anonymous.get("/health", as: HealthReply.self)
            }
            let wrong = RESTClient(RESTOptions(endpoint: .url(loopback), token: "s3cret-tokeN"))
            await #expect(throws: RESTError.self) { try await wrong.get("/health", as: HealthReply.self) }
            let right = RESTClient(RESTOptions(endpoint: .url(loopback), token: "s3cret-token"))
            #expect(try await right.get("/health", as: HealthReply.self).status == "ok")
            #expect(try await majordomo.stop() == .exited(130))
        }
    }

    @Test func registrationsThroughJetStreamAreKeptAndAnnounced() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let chef = try await NATSClient.connect(
                NATSOptions(urls: [server.url], name: "test-chef"),
                sender: Sender(pod: "pod2", role: "chef", name: "c1"),
                logger: logger)
            let askedAgain = try chef.subscribe(Subjects.registerTypesAgain)
            let announcements = try chef.messages(Subjects.registered(.types), as: Registered.self)
            let failures = try chef.messages("failed.>", as: FailedMessage.self)
            try await chef.flush()
            let majordomo = try await RunningMajorDomo.start(server, scratch: scratch)
            // At start it asks every Chef to register again.
            var asked = askedAgain.makeAsyncIterator()
            #expect(await asked.next()?.subject == Subjects.registerTypesAgain)
            try chef.publish(
                Subjects.register(.types), RegisterType(chefName: "c1", typeName: "tex", extensions: ["*.tex"]))
            try chef.publish(
                Subjects.register(.types),
                RegisterType(chefName: "c1", typeName: "log", extensions: ["*.log"], isLog: true))
            try chef.publish(Subjects.register(.types), Registered(names: ["not a type"]))  // malformed
            var iterator = announcements.makeAsyncIterator()
            let announced = await iterator.next()
            #expect(announced?.envelope.payload.names == ["log", "tex"])
            #expect(announced?.envelope.sender.role == "majordomo")
            // The malformed one was answered on failed.<subject>, with why.
            var failed = failures.makeAsyncIterator()
            let failure = await failed.next()
            #expect(failure?.message.subject == "failed.register.types")
            #expect(failure?.envelope.payload.error == "missing 'chefName'", "\(String(describing: failure))")
            // A registration made while the MajorDomo is down is read when it is back.
            #expect(try await majordomo.stop() == .exited(130))
            try chef.publish(
                Subjects.register(.types), RegisterType(chefName: "c1", typeName: "bib", extensions: ["*.bib"]))
            try await chef.flush()
            let again = try await RunningMajorDomo.start(server, scratch: scratch)
            var next = await iterator.next()
            while let names = next?.envelope.payload.names, !names.contains("bib") { next = await iterator.next() }
            #expect(next?.envelope.payload.names == ["bib", "log", "tex"])
            #expect(try await again.stop() == .exited(130))
            try await chef.drain()
        }
    }

    /// The watcher of the project's pod reports its files; the MajorDomo keeps them, and reads
    /// what changed while it was down when it is back.
    @Test func aProjectsFilesComeFromItsPodsWatcherAndNothingIsLostWhileTheMajorDomoIsDown() async throws {
        try await withWatchedHello(expecting: ["hello.c", "greet.c", "greet.h", "project.pyml"]) {
            server, scratch, hello, watch, majordomo in
            let client = majordomo.overSocket
            struct File: Codable { var path: String; var artefact: Artefact }
            struct Artefact: Codable { var sha256: String?; var pod: String }
            let header = try await client.get("/files/c-hello/greet.h", as: File.self)
            #expect(header.artefact.pod == "laptop" && header.artefact.sha256?.count == 64)
            // Edited while the MajorDomo is away: read from the stream when it is back.
            #expect(try await majordomo.stop() == .exited(130))
            try "/* edited */\n".write(toFile: hello + "/greet.h", atomically: true, encoding: .utf8)
            let again = try await RunningMajorDomo.start(server, scratch: scratch)
            try await waitUntil(deadline: .seconds(30), "the change made while it was down") {
                let file = try? await again.overSocket.get("/files/c-hello/greet.h", as: File.self)
                return file.map { $0.artefact.sha256 != header.artefact.sha256 } ?? false
            }
            #expect(try await again.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            #expect(try await watch.waitForExit() == .exited(130))
        }
    }

    /// A build through the real parts: the watcher's files, jobs on the JetStream work queue, a
    /// stand-in Chef taking them with a durable pull consumer, results through the stream.
    @Test func aBuildGoesThroughTheWorkQueueAndARestartedMajorDomoRebuildsNothing() async throws {
        try await withWatchedHello(expecting: ["hello.c", "greet.c", "greet.h"]) {
            server, scratch, hello, watch, majordomo in
            let client = majordomo.overSocket
            let chef = try await WorkQueueChef.start(server, kind: "c", rules: ["compile", "link"])
            defer { chef.stop() }
            struct Started: Codable { var id: String; var state: String }
            struct BuildBody: Codable { var project: String }
            struct Detail: Codable {
                struct Summary: Codable { var state: String; var jobs: Int }
                struct TaskRun: Codable { var task: String; var state: String; var chef: String? }
                var build: Summary
                var tasks: [TaskRun]
            }
            func finished(_ id: String, on client: RESTClient) async throws -> Detail {
                var detail = try await client.get("/builds/\(id)", as: Detail.self)
                try await waitUntil(deadline: .seconds(60), "build \(id) to end") {
                    detail = (try? await client.get("/builds/\(id)", as: Detail.self)) ?? detail
                    return detail.build.state != "running"
                }
                return detail
            }
            let started = try await client.post("/builds", BuildBody(project: "c-hello"), as: Started.self)
            let built = try await finished(started.id, on: client)
            #expect(built.build.state == "succeeded" && built.build.jobs == 3, "\(built)")
            #expect(Set(built.tasks.map(\.task)) == ["greet.o", "hello.o", "hello"])
            #expect(built.tasks.allSatisfy { $0.chef == "stand-in" })
            struct Chef: Codable { var name: String; var alive: Bool; var kinds: [String] }
            let chefs = try await client.get("/chefs", as: [Chef].self)
            #expect(chefs.map(\.name) == ["stand-in"] && chefs[0].alive && chefs[0].kinds == ["c"])
            #expect(try await runProcess(hello + "/hello", []).stdout == "Hello, world!\n")
            // The events, numbered; a client coming back after one gets what followed it.
            var first: [ServerSentEvent] = []
            for try await event in client.events("/events?limit=3") { first.append(event) }
            #expect(first.map(\.id) == ["1", "2", "3"] && first.allSatisfy { !$0.data.isEmpty })
            var replayed: [ServerSentEvent] = []
            for try await event in client.events("/events?limit=1", lastEventID: "2") { replayed.append(event) }
            #expect(replayed == [first[2]])
            // A stream left open does not hold the MajorDomo up when it stops.
            let received = Counter()
            let open = Task {
                for try await _ in client.events("/events") { received.add() }
            }
            try await waitUntil(deadline: .seconds(30), "the open stream's replay") { received.value > 3 }
            // Restarted on the same state, it rebuilds nothing that was up to date.
            #expect(try await majordomo.stop() == .exited(130))
            try await open.value  // ended with the MajorDomo
            let again = try await RunningMajorDomo.start(server, scratch: scratch)
            let second = try await again.overSocket.post("/builds", BuildBody(project: "c-hello"), as: Started.self)
            let nothing = try await finished(second.id, on: again.overSocket)
            #expect(nothing.build.state == "succeeded" && nothing.build.jobs == 0, "\(nothing)")
            #expect(try await again.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            #expect(try await watch.waitForExit() == .exited(130))
        }
    }
}

extension MajorDomoEndToEndTests {
    /// A job no Chef completes is delivered five times, then the server's advisory makes it a
    /// poison job: its task fails saying so and the message leaves the work queue.
    @Test func aJobNoChefCompletesIsAPoisonJobAndLeavesTheQueue() async throws {
        // Fewer deliveries than the default 5: the option takes effect, and the test is quicker.
        try await withWatchedHello(expecting: ["hello.c", "greet.c", "greet.h"], extra: ["--max-deliver", "3"]) {
            server, scratch, hello, watch, majordomo in
            let client = majordomo.overSocket
            let broken = try await WorkQueueChef.start(server, kind: "c", rules: ["compile", "link"], refusing: true)
            defer { broken.stop() }
            struct Started: Codable { var id: String }
            struct BuildBody: Codable { var project: String }
            struct Detail: Codable {
                struct Summary: Codable { var state: String }
                struct TaskRun: Codable { var task: String; var state: String; var detail: String? }
                var build: Summary
                var tasks: [TaskRun]
            }
            let started = try await client.post("/builds", BuildBody(project: "c-hello"), as: Started.self)
            var detail = try await client.get("/builds/\(started.id)", as: Detail.self)
            try await waitUntil(deadline: .seconds(60), "the poisoned build to end") {
                detail = (try? await client.get("/builds/\(started.id)", as: Detail.self)) ?? detail
                return detail.build.state != "running"
            }
            #expect(detail.build.state == "failed")
            let poisoned = detail.tasks.filter { $0.detail?.hasPrefix("poison job: delivered 3 times") == true }
            #expect(Set(poisoned.map(\.task)) == ["greet.o", "hello.o"], "\(detail.tasks)")
            // Nothing is left in the work queue.
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let raw = try await NATSClient.connect(
                NATSOptions(urls: [server.url], name: "probe"), sender: Sender(pod: "t", role: "test", name: "t"),
                logger: logger)
            struct Info: Decodable { struct State: Decodable { var messages: Int }; var state: State }
            let info = try await raw.requestRaw("$JS.API.STREAM.INFO.CP_JOBS", [])
            #expect(try JSONDecoder().decode(Info.self, from: Data(info.payload)).state.messages == 0)
            try await raw.drain()
            #expect(try await majordomo.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            _ = try await watch.waitForExit()
        }
    }
}

extension MajorDomoEndToEndTests {
    /// The MajorDomo killed with -9 in the middle of a build and started again: the build is
    /// marked, built again, and ends as a clean build would, with what changed meanwhile.
    @Test func aMajorDomoKilledMidBuildFinishesTheBuildWhenItIsBack() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            try scratch.write(
                "rules/steps.ryml",
                """
                rules:
                  first: {dependencies: [], outputs: [], build: [/bin/cp, "{{input}}", "{{output}}"]}
                  slow: {dependencies: [], outputs: [], build: [sh, -c, "while [ ! -e \(scratch.file("gate")) ]; do sleep 0.05; done; cat one.txt one.txt > two.txt"]}
                """)
            try scratch.write("p/in.txt", "v1\n")
            try scratch.write(
                "p/tasks.tyml",
                """
                tasks:
                  one: {rule: first, dependencies: [in.txt], outputs: [one.txt]}
                  two: {rule: slow, dependencies: [one.txt], outputs: [two.txt]}
                """)
            let project = scratch.file("p")
            let rules = scratch.file("rules")
            let watch = try await startWatcher(server, scratch)
            let majordomo = try await RunningMajorDomo.start(server, scratch: scratch, extra: ["--rules", rules])
            try await addWatched(project, majordomo.overSocket, expecting: ["in.txt", "tasks.tyml"])
            let chef = try await WorkQueueChef.start(server, kind: "s", rules: ["first", "slow"], ruleDirectory: rules)
            defer { chef.stop() }
            struct Started: Codable { var id: String }
            struct BuildBody: Codable { var project: String }
            struct Detail: Codable {
                struct Summary: Codable {
                    var id: String; var state: String; var trigger: String; var failures: [String]
                }
                struct TaskRun: Codable { var task: String; var state: String }
                var build: Summary
                var tasks: [TaskRun]
            }
            let started = try await majordomo.overSocket.post("/builds", BuildBody(project: "p"), as: Started.self)
            try await waitUntil(deadline: .seconds(30), "the slow task to be out") {
                let detail = try? await majordomo.overSocket.get("/builds/\(started.id)", as: Detail.self)
                return detail?.tasks.contains { $0.task == "two" && $0.state == "running" } == true
            }
            _ = try await majordomo.process.kill9()
            try "v2\n".write(toFile: project + "/in.txt", atomically: true, encoding: .utf8)  // while it is down
            let again = try await RunningMajorDomo.start(server, scratch: scratch, extra: ["--rules", rules])
            // The slow task waits for this (outside the project): it was surely out at the kill.
            try "open\n".write(toFile: scratch.file("gate"), atomically: false, encoding: .utf8)
            let client = again.overSocket
            var builds: [Detail.Summary] = []
            try await waitUntil(deadline: .seconds(60), "the build to be done again") {
                builds = (try? await client.get("/builds", as: [Detail.Summary].self)) ?? []
                return builds.contains { $0.trigger != "request" && $0.state == "succeeded" }
                    && !builds.contains { $0.state == "running" }
            }
            let killed = try #require(builds.first { $0.id == started.id })
            #expect(killed.state == "cancelled" && killed.failures == ["the MajorDomo stopped during it"])
            // What a clean build of the sources as they are now makes.
            try await waitUntil(deadline: .seconds(30), "the files to settle") {
                (try? String(contentsOfFile: project + "/two.txt", encoding: .utf8)) == "v2\nv2\n"
            }
            #expect(try String(contentsOfFile: project + "/one.txt", encoding: .utf8) == "v2\n")
            #expect(try await again.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            _ = try await watch.waitForExit()
        }
    }
}

/// A Chef for tests, before `cp chef` exists: registers its rules for `kind`, takes jobs from
/// the kind's durable pull consumer on the work queue one at a time, runs them with
/// `StandInChef` and publishes each result into the results stream.
final class WorkQueueChef: Sendable {
    let task: Task<Void, Never>

    /// `refusing`: a broken Chef that refuses (naks) every job it is given.
    static func start(
        _ server: NATSTestServer, kind: String, rules: [String], refusing: Bool = false,
        ruleDirectory: String = GraphEndToEndTests.repository + "/rules"
    ) async throws -> WorkQueueChef {
        var logger = Logger(label: "stand-in")
        logger.logLevel = .critical
        let client = try await NATSClient.connect(
            NATSOptions(urls: [server.url], name: "stand-in"),
            sender: Sender(pod: "laptop", role: "chef", name: "stand-in"),
            logger: logger)
        for rule in rules {
            try client.publish(
                Subjects.register(.rules),
                RegisterRule(
                    chefName: "stand-in", chefKind: kind, ruleName: rule, theRule: .init(dependencies: [], outputs: []))
            )
        }
        try client.publish(
            Subjects.heartbeat(role: "chef", name: "stand-in"),
            HeartbeatPayload(load: [0, 0, 0], jobs: .init(running: 0, capacity: 1), startedAt: "now", version: "test"))
        let jetStream = try JetStream(client.bulk)
        // Bound with the MajorDomo's terms.
        let consumer = try await jetStream.pullConsumer(
            stream: "CP_JOBS", durable: "chef-\(kind)", filter: Subjects.buildFrom(kind: kind))
        let task = Task {
            while !Task.isCancelled {
                guard let messages = try? await consumer.fetch(batch: 1, timeout: .milliseconds(200)) else { continue }
                for message in messages {
                    if refusing {
                        try? message.nak()
                        continue
                    }
                    guard let job = try? JSONDecoder().decode(Envelope<Job>.self, from: Data(message.payload)).payload
                    else { continue }
                    let result = StandInChef.run(job, rulePaths: [ruleDirectory])
                    let body = try? JSONEncoder().encode(Envelope(sender: client.sender, payload: result))
                    _ = try? await jetStream.publish(
                        Subjects.buildResults(jobId: job.jobId), Array(body ?? Data()), messageID: job.jobId)
                    try? message.ack()
                }
            }
            consumer.close()
            try? await client.drain()
        }
        return WorkQueueChef(task: task)
    }

    private init(task: Task<Void, Never>) { self.task = task }

    func stop() { task.cancel() }
}

/// A count shared with a task.
final class Counter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
