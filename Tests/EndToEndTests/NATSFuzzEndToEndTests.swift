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

/// Malformed and hostile bodies on every subject a role reads, with the real roles running (a
/// watcher, a MajorDomo, a Chef): not JSON, empty, an array, wrong types, a huge body, deep
/// nesting, a wrong `v`, no sender; and for the subjects that carry paths, paths with `..`,
/// absolute, with a NUL, and of 10,000 components. Each is answered on `failed.<subject>`;
/// no role crashes; the MajorDomo's state is what it was; and a real edit and build still
/// go through afterwards.
@Suite(.serialized) struct NATSFuzzEndToEndTests {
    let majordomoTests = MajorDomoEndToEndTests()

    /// `docs/messages/NAME.json`, as a dictionary to change.
    static func example(_ name: String) throws -> [String: Any] {
        let path = GraphEndToEndTests.repository + "/docs/messages/\(name).json"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func json(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A value of another JSON type than `value`'s.
    static func mismatched(_ value: Any) -> Any {
        switch value {
        case is String: return 12345
        case is NSNull: return [1, 2]
        default: return "not the right type"
        }
    }

    /// The malformed bodies for a subject whose valid body is `valid`.
    static func malformed(_ valid: [String: Any]) throws -> [String] {
        let fields = valid.keys.filter { $0 != "v" && $0 != "sender" }
        let sender = try json(valid["sender"] ?? [:])
        var bodies = [
            "this is not JSON {", "", "[1, 2, 3]",
            "{\"v\":1,\"sender\":\(sender),\"x\":" + String(repeating: "[", count: 10_000)
                + String(repeating: "]", count: 10_000) + "}",
        ]
        var wrongV = valid
        wrongV["v"] = 2
        bodies.append(try json(wrongV))
        var noSender = valid
        noSender["sender"] = nil
        bodies.append(try json(noSender))
        if !fields.isEmpty {
            var wrongTypes = valid
            for field in fields { wrongTypes[field] = mismatched(valid[field]!) }
            bodies.append(try json(wrongTypes))
            // Huge, and without the fields it needs.
            bodies.append(
                try json(["v": 1, "sender": valid["sender"]!, "padding": String(repeating: "x", count: 900_000)]))
        }
        return bodies
    }

    /// Paths no role may take: climbing out, absolute, with a NUL, too long for any file.
    static let hostilePaths = [
        "../escape.txt", "/etc/passwd", "chapters/a\u{0}b.tex", String(repeating: "a/", count: 10_000) + "x",
    ]

    /// The state the MajorDomo shows over REST, route by route.
    func snapshot(_ client: RESTClient) async throws -> [String: String] {
        var state: [String: String] = [:]
        for route in ["/projects", "/files/c-hello", "/builds", "/project/targets/c-hello", "/graph/c-hello"] {
            let response = try await client.send("GET", route)
            state[route] = "\(response.status) " + String(decoding: response.body, as: UTF8.self)
        }
        return state
    }

    @Test func hostileBodiesOnEverySubjectAreAnsweredOnFailedAndChangeNothing() async throws {
        try await majordomoTests.withWatchedHello(expecting: ["hello.c", "greet.c", "greet.h"]) {
            server, scratch, hello, watch, majordomo in
            var logger = Logger(label: "fuzz")
            logger.logLevel = .critical
            let probe = try await NATSClient.connect(
                NATSOptions(urls: [server.url], name: "fuzzer"), sender: Sender(pod: "fuzz", role: "test", name: "f"),
                logger: logger)
            let failures = try probe.messages("failed.>", as: FailedMessage.self)
            let announced = try probe.messages(Subjects.registered(.rules), as: Registered.self)
            try await probe.flush()
            let chef = try await RunningChef.start(
                server, scratch: scratch, name: "fuzz", rules: GraphEndToEndTests.repository + "/rules")
            for await rules in announced where rules.envelope.payload.names.contains("compile") { break }
            let client = majordomo.overSocket
            let before = try await snapshot(client)

            let answered = Mutex<Set<String>>([])
            let collector = Task {
                for await failure in failures {
                    let key = failure.message.subject + "\n" + failure.envelope.payload.origMsg
                    answered.withLock { _ = $0.insert(key) }
                }
            }
            var sent: [(subject: String, body: String)] = []
            func send(_ subject: String, _ body: String) throws {
                try probe.bulk.publish(subject, Array(body.utf8))
                sent.append((subject, body))
            }
            // Every subject a role reads, with a valid body of its kind to spoil.
            var change = try Self.example("fileChanged")
            change["root"] = hello
            change["sender"] = ["pod": "laptop", "role": "watch", "name": "laptop"]
            var job = try Self.example("build.from")
            job["source"] = ["pod": "laptop", "root": hello]
            var task = try Self.example("register.tasks")
            task["project"] = "c-hello"
            let subjects: [(String, [String: Any])] = [
                ("heartbeat.chef.intruder", try Self.example("heartbeat")),  // MajorDomo
                ("logger.c-hello.hello", try Self.example("logger")),
                ("register.types", try Self.example("register.types")),
                ("register.rules", try Self.example("register.rules")),
                ("register.tasks", task),
                ("fileChanged.changed.laptop.fuzz", change),
                ("build.results.fuzz-1", try Self.example("build.results")),
                ("build.howTo.text", try Self.example("build.howTo")),  // Chef
                ("build.cancel.fuzz-1", try Self.example("build.cancel")),
                ("build.from.k", job),
                (Subjects.registerTypesAgain, try Self.example("artefacts.registerTypes")),
                ("watchRequest.laptop", try Self.example("watchRequest")),  // watcher
            ]
            for (subject, valid) in subjects {
                for body in try Self.malformed(valid) { try send(subject, body) }
            }
            // Hostile paths in bodies of the right shape.
            for path in Self.hostilePaths {
                var hostile = change
                hostile["path"] = path
                try send("fileChanged.changed.laptop.fuzz", try Self.json(hostile))
                var theTask = try #require(task["theTask"] as? [String: Any])
                theTask["dependencies"] = [path]
                var registered = task
                registered["theTask"] = theTask
                registered["taskName"] = "fuzz-task"
                try send("register.tasks", try Self.json(registered))
            }
            try await probe.flush()
            let expected = Set(sent.map { "failed." + $0.subject + "\n" + $0.body })
            do {
                try await waitUntil(deadline: .seconds(120), "every hostile body to be answered on failed.<subject>") {
                    answered.withLock { $0.isSuperset(of: expected) }
                }
            } catch {
                let missing = answered.withLock { expected.subtracting($0) }.map { String($0.prefix(120)) }.sorted()
                Issue.record("not answered on failed.<subject>:\n\(missing.joined(separator: "\n"))")
                throw error
            }
            collector.cancel()
            // A job with hostile paths is refused by the Chef with a failed result; nothing is
            // written outside the project.
            let results = try probe.messages("build.results.>", as: JobResult.self)
            try await probe.flush()
            for (index, path) in Self.hostilePaths.enumerated() {
                var hostile = job
                hostile["jobId"] = "fuzz-path-\(index)"
                hostile["outputs"] = [path]
                try send("build.from.k", try Self.json(hostile))
            }
            var refused = 0
            for await result in results where result.envelope.payload.jobId.hasPrefix("fuzz-path-") {
                #expect(result.envelope.payload.result == .failed, "\(result.envelope.payload)")
                #expect(result.envelope.payload.details.contains("refused"), "\(result.envelope.payload.details)")
                refused += 1
                if refused == Self.hostilePaths.count { break }
            }
            #expect(!FileManager.default.fileExists(atPath: scratch.file("escape.txt")))

            // The same paths over REST, in a route and in a body: refused with a 4xx.
            func refusal(_ method: String, _ route: String, _ body: String? = nil) async -> Int? {
                do {
                    _ = try await client.send(method, route, body: body.map { Array($0.utf8) })
                    return nil
                } catch {
                    if case .http(let status, _) = error { return status }
                    return -1
                }
            }
            for path in Self.hostilePaths {
                let escaped = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? path
                for route in ["/files/c-hello/\(escaped)", "/why/c-hello/\(escaped)"] {
                    let status = await refusal("GET", route)
                    #expect([400, 404].contains(status), "GET \(route.prefix(80)): \(status ?? 200)")
                }
                let body = try Self.json(["directory": path.hasPrefix("/") ? path : hello + "/" + path])
                let status = await refusal("POST", "/project/add", body)
                #expect([400, 404].contains(status), "POST /project/add \(path.prefix(40)): \(status ?? 200)")
            }
            // Nobody crashed, and the MajorDomo's state is what it was.
            #expect(majordomo.process.isRunning && chef.process.isRunning && watch.isRunning)
            #expect(try await snapshot(client) == before)
            // A real edit and a real build still go through.
            struct File: Codable { var path: String; var artefact: Artefact }
            struct Artefact: Codable { var sha256: String? }
            let header = try await client.get("/files/c-hello/greet.h", as: File.self)
            try "/* after the fuzzing */\n".write(toFile: hello + "/greet.h", atomically: true, encoding: .utf8)
            try await waitUntil(deadline: .seconds(30), "the edit to reach the MajorDomo") {
                let file = try? await client.get("/files/c-hello/greet.h", as: File.self)
                return file.map { $0.artefact.sha256 != header.artefact.sha256 } ?? false
            }
            struct Started: Codable { var id: String }
            struct BuildBody: Codable { var project: String }
            struct Detail: Codable {
                struct Summary: Codable { var state: String }
                var build: Summary
            }
            let started = try await client.post("/builds", BuildBody(project: "c-hello"), as: Started.self)
            var detail = try await client.get("/builds/\(started.id)", as: Detail.self)
            try await waitUntil(deadline: .seconds(120), "the build to end") {
                detail = (try? await client.get("/builds/\(started.id)", as: Detail.self)) ?? detail
                return detail.build.state != "running"
            }
            #expect(detail.build.state == "succeeded")
            #expect(try await runProcess(hello + "/hello", []).stdout == "Hello, world!\n")
            #expect(try await chef.process.terminate() == .exited(130))
            #expect(try await majordomo.stop() == .exited(130))
            watch.send(signal: SIGTERM)
            #expect(try await watch.waitForExit() == .exited(130))
            try await probe.drain()
        }
    }
}
