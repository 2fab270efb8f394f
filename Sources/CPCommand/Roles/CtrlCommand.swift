import CPModel
import Foundation
import MajorDomo
import RESTClient
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// `cp ctrl`: the user's REST client of a MajorDomo (DESIGN §9). Each verb is one or two
/// requests; `--json` prints the MajorDomo's JSON as it came, otherwise a text view. A
/// MajorDomo that is not there, or that refuses, is one line and exit 1.
enum CtrlCommand {
    /// A verb's connection and what it was asked.
    struct Session {
        let client: RESTClient
        let invocation: Invocation
        var json: Bool { invocation.settings.flag("json") }

        func positional(_ name: String) -> String? { invocation.parsed.positional(name)?.text }

        func get<Reply: Decodable>(_ path: String, as type: Reply.Type) async throws(RESTError) -> Reply {
            try await client.get(path, as: type)
        }

        /// GET `path`: its JSON printed as it came with `--json`, otherwise decoded for `render`.
        func show<Reply: Decodable>(_ path: String, as type: Reply.Type, _ render: (Reply) -> String)
            async throws(RESTError)
        {
            let response = try await client.send("GET", path)
            if json {
                Output.out(String(decoding: response.body, as: UTF8.self) + "\n")
                return
            }
            do {
                Output.out(render(try JSONDecoder().decode(type, from: Data(response.body))))
            } catch {
                throw .body("the MajorDomo's reply to \(path) is not what this cp expects: \(error)")
            }
        }

        /// The id of the MajorDomo's newest event, for a stream of what happens from now on.
        func lastEvent() async throws(RESTError) -> String {
            struct Health: Decodable { var lastEvent: Int? }
            return String(try await get("/health", as: Health.self).lastEvent ?? 0)
        }

        /// The project the verb is about: the one named, else the one whose root holds the
        /// current directory, else the only one.
        func project(named name: String?) async throws -> String {
            if let name { return name }
            let projects = try await get("/projects", as: [ProjectSummary].self)
            return try CtrlCommand.project(holding: FileManager.default.currentDirectoryPath, in: projects)
        }
    }

    /// Runs `body` with a client of the MajorDomo the options name; a REST failure or a
    /// refusal is one line.
    static func withSession(_ invocation: Invocation, _ body: (Session) async throws -> ExitStatus) async
        -> ExitStatus
    {
        do {
            return try await body(Session(client: try client(invocation.settings), invocation: invocation))
        } catch let error as CtrlError {
            Output.error("ctrl", error.description)
            return error.status
        } catch {
            Output.error("ctrl", "\(error)")
            return .failure
        }
    }

    /// The client of `--url` (with `--token-file`), `--socket`, the socket of a `cp up` whose
    /// directory holds the current one, or the default socket.
    static func client(_ settings: ResolvedSettings) throws(CtrlError) -> RESTClient {
        let endpoint: RESTEndpoint
        if let url = settings.value("url")?.text {
            endpoint = .url(url)
        } else if let socket = settings.value("socket")?.text {
            endpoint = .unixSocket(socket)
        } else {
            let environment = ProcessInfo.processInfo.environment
            endpoint = .unixSocket(
                UpCommand.socket(around: FileManager.default.currentDirectoryPath)
                    ?? MajorDomoCommand.defaultSocket(environment))
        }
        var token: String?
        if let file = settings.value("token-file")?.text {
            do { token = try MajorDomoCommand.readToken(file) } catch { throw .usage("\(error)") }
        }
        var options = RESTOptions(endpoint: endpoint, token: token)
        options.timeout = settings.duration("timeout")
        return RESTClient(options)
    }

    /// The project whose root holds `directory` (the deepest), else the only one.
    static func project(holding directory: String, in projects: [ProjectSummary]) throws(CtrlError) -> String {
        let directory = (directory as NSString).standardizingPath
        let holding = projects.filter { directory == $0.root || directory.hasPrefix($0.root + "/") }
        if let deepest = holding.max(by: { $0.root.count < $1.root.count }) { return deepest.name }
        if projects.count == 1 { return projects[0].name }
        if projects.isEmpty { throw .failure("the MajorDomo has no project: add one with 'cp ctrl project add DIR'") }
        throw .usage(
            "no project holds '\(directory)': name one (\(projects.map(\.name).sorted().joined(separator: ", ")))")
    }

    /// `name` percent-encoded for a path segment.
    static func segment(_ name: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#%")
        return name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name
    }

    // MARK: Projects

    @Sendable static func projects(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            try await session.show("/projects", as: [ProjectSummary].self) { projects in
                guard !projects.isEmpty else { return "no projects (add one with 'cp ctrl project add DIR')\n" }
                return TextTable.render(
                    ["PROJECT", "ROOT", "TARGETS", "TASKS", "CYCLES", "PROBLEM"],
                    projects.map {
                        [$0.name, $0.root, "\($0.targets.count)", "\($0.tasks)", "\($0.cycles)", $0.problem ?? ""]
                    })
            }
            return .success
        }
    }

    @Sendable static func addProject(_ invocation: Invocation) async -> ExitStatus {
        struct Body: Encodable {
            var directory: String
            var name: String?
            var pod: String?
            var sftp: String?
        }
        return await withSession(invocation) { session in
            let given = session.positional("DIR") ?? "."
            let directory = URL(fileURLWithPath: given).standardizedFileURL.path
            let settings = invocation.settings
            let body = Body(
                directory: directory, name: settings.value("name")?.text, pod: settings.value("pod")?.text,
                sftp: settings.value("sftp")?.text)
            let response = try await session.client.send(
                "POST", "/project/add", body: Array(JSONEncoder().encode(body)))
            if session.json {
                Output.out(String(decoding: response.body, as: UTF8.self) + "\n")
            } else {
                let added = try JSONDecoder().decode(ProjectSummary.self, from: Data(response.body))
                Output.out(
                    "added project '\(added.name)' (\(added.root)): \(added.targets.count) target\(added.targets.count == 1 ? "" : "s"), \(added.tasks) task\(added.tasks == 1 ? "" : "s")\n"
                )
            }
            return .success
        }
    }

    @Sendable static func removeProject(_ invocation: Invocation) async -> ExitStatus {
        struct Body: Encodable { var name: String }
        struct Removed: Decodable { var removed: String }
        return await withSession(invocation) { session in
            let name = session.positional("NAME") ?? ""
            let removed = try await session.client.post("/project/remove", Body(name: name), as: Removed.self)
            Output.out(
                session.json ? "{\"removed\":\"\(removed.removed)\"}\n" : "removed project '\(removed.removed)'\n")
            return .success
        }
    }

    @Sendable static func targets(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            let name = try await session.project(named: session.positional("PROJECT"))
            try await session.show("/project/targets/\(segment(name))", as: [TargetSummary].self) { targets in
                TextTable.render(
                    ["TARGET", "OUTPUTS", "HELP"],
                    targets.map { [$0.name, $0.outputs.joined(separator: " "), $0.help] })
            }
            return .success
        }
    }

    @Sendable static func definition(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            let name = try await session.project(named: session.positional("PROJECT"))
            try await session.show("/project/definition/\(segment(name))", as: ProjectDefinitionView.self) { view in
                var text = "project \(view.project.name): \(view.project.root)\n"
                if !view.project.description.isEmpty { text += view.project.description + "\n" }
                text += "\ntargets:\n"
                for target in view.targets {
                    text += "  \(target.name): \(target.dependencies.joined(separator: " ")) → "
                    text += target.outputs.joined(separator: " ") + "\n"
                }
                text += "\ntasks:\n"
                for task in view.tasks {
                    text += "  \(task.name) [\(task.rule)\(task.fromPattern ? ", from a pattern" : "")]: "
                    text += (task.dependencies + task.secondaryDependencies.map { "(\($0))" }).joined(separator: " ")
                    text += " → " + task.outputs.joined(separator: " ") + "\n"
                }
                return text
            }
            return .success
        }
    }

    @Sendable static func graph(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            let name = try await session.project(named: session.positional("PROJECT"))
            let format = invocation.settings.text("format")
            let response = try await session.client.send("GET", "/graph/\(segment(name))?format=\(format)")
            Output.out(String(decoding: response.body, as: UTF8.self))
            return .success
        }
    }

    @Sendable static func why(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            let name = session.positional("PROJECT") ?? ""
            let path = (session.positional("PATH") ?? "").split(separator: "/").map { segment(String($0)) }
            try await session.show("/why/\(segment(name))/\(path.joined(separator: "/"))", as: WhyReply.self) { reply in
                reply.explanation.map { $0 + "\n" }.joined()
            }
            return .success
        }
    }

    @Sendable static func chefs(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            try await session.show("/chefs", as: [ChefView].self) { chefs in
                guard !chefs.isEmpty else { return "no Chef has been heard from\n" }
                return TextTable.render(
                    ["CHEF", "POD", "STATE", "KINDS", "JOBS", "LOAD", "RULES"],
                    chefs.map { chef in
                        [
                            chef.name, chef.pod,
                            chef.alive ? "alive" : "gone (silent \(Int(chef.silentFor)) s)",
                            chef.kinds.joined(separator: " "), "\(chef.running)/\(chef.capacity)",
                            chef.load.first.map { String(format: "%.2f", $0) } ?? "",
                            chef.rules.joined(separator: " "),
                        ]
                    })
            }
            return .success
        }
    }

    // MARK: Builds

    @Sendable static func build(_ invocation: Invocation) async -> ExitStatus {
        struct Body: Encodable {
            var project: String
            var targets: [String]
        }
        return await withSession(invocation) { session in
            let name = try await session.project(named: invocation.settings.value("project")?.text)
            let targets = invocation.parsed.positionalValues("TARGET").compactMap(\.text)
            // The events from before the build is asked for: none of its is missed however
            // late the stream connects, and nothing older is sent.
            let follower = BuildFollower(role: "ctrl", terminal: isatty(STDERR_FILENO) == 1 && !session.json)
            let events = session.client.events("/events", lastEventID: try await session.lastEvent())
            // Trapped before the build starts: a Ctrl-C as soon as it has started cancels it.
            let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
            let started = try await session.client.post(
                "/builds", Body(project: name, targets: targets), as: BuildSummary.self)
            if !session.json { Output.err("cp: ctrl: build \(started.id) of project '\(name)' started\n") }
            let interrupted = Interrupted()
            let summary = try await withThrowingTaskGroup(of: BuildSummary?.self) { group in
                group.addTask { try await follower.follow(started.id, events) }
                group.addTask {
                    // Ctrl-C cancels the build on the MajorDomo; a second one leaves at once.
                    for await _ in signals {
                        if interrupted.note() { _exit(ExitStatus.interrupted.rawValue) }
                        follower.clearLine()
                        Output.err("cp: ctrl: cancelling build \(started.id) (interrupt again to leave it running)\n")
                        _ = try? await session.client.delete("/builds/\(started.id)", as: BuildSummary.self)
                    }
                    return nil
                }
                defer { group.cancelAll() }
                while let next = try await group.next() {
                    if let summary = next { return summary }
                }
                throw CtrlError.failure("the event stream ended before build \(started.id) did")
            }
            let detail = try await session.get("/builds/\(started.id)", as: BuildDetail.self)
            if session.json {
                Output.out(String(decoding: try JSONEncoder().encode(detail), as: UTF8.self) + "\n")
            } else {
                await follower.report(detail) { task in
                    let path = "/builds/\(detail.build.id)/log?task=" + segment(task)
                    return (try? await session.client.send("GET", path)).map {
                        String(decoding: $0.body, as: UTF8.self)
                    }
                }
                Output.err("cp: ctrl: " + BuildFollower.summary(detail) + "\n")
            }
            if interrupted.happened { return .interrupted }
            return summary.state == .succeeded ? .success : .failure
        }
    }

    @Sendable static func status(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            guard let id = session.positional("BUILD") else {
                try await session.show("/builds", as: [BuildSummary].self) { builds in
                    guard !builds.isEmpty else { return "no builds\n" }
                    return TextTable.render(
                        ["BUILD", "PROJECT", "STATE", "TRIGGER", "JOBS", "STARTED", "TOOK"],
                        builds.map { build in
                            [
                                build.id, build.project, build.state.rawValue, build.trigger, "\(build.jobs)",
                                TextTable.time(build.created),
                                build.finished.map { TextTable.seconds($0 - build.created) } ?? "",
                            ]
                        })
                }
                return .success
            }
            try await session.show("/builds/\(segment(id))", as: BuildDetail.self) { detail in
                let build = detail.build
                var text = "build \(build.id) of project '\(build.project)': \(build.state.rawValue)"
                text += " (\(build.trigger), \(build.jobs) job\(build.jobs == 1 ? "" : "s")"
                if let finished = build.finished { text += ", \(TextTable.seconds(finished - build.created))" }
                text += ")\n"
                for failure in build.failures { text += "  failed: \(failure)\n" }
                guard !detail.tasks.isEmpty else { return text }
                return text
                    + TextTable.render(
                        ["TASK", "STATE", "PASS", "CHEF", "TOOK", "WHY"],
                        detail.tasks.map { run in
                            [
                                run.task, run.state.rawValue, "\(run.pass)", run.chef ?? "",
                                run.elapsed.map(TextTable.seconds) ?? "", run.detail ?? run.reason,
                            ]
                        })
            }
            return .success
        }
    }

    @Sendable static func log(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            let id = segment(session.positional("BUILD") ?? "")
            let task = session.positional("TASK")
            let query = task.map { "task=" + segment($0) }
            guard invocation.settings.flag("follow") else {
                let path = "/builds/\(id)/log" + (query.map { "?" + $0 } ?? "")
                let response = try await session.client.send("GET", path)
                Output.out(String(decoding: response.body, as: UTF8.self))
                return .success
            }
            let path = "/builds/\(id)/log?follow=true" + (query.map { "&" + $0 } ?? "")
            for try await event in session.client.events(path) {
                switch event.event {
                case "end": return .success
                case "line":
                    guard let line = try? JSONDecoder().decode(LogLine.self, from: Data(event.data.utf8)) else {
                        continue
                    }
                    Output.out(task == nil ? "[\(line.task)] \(line.line)\n" : line.line + "\n")
                default: continue
                }
            }
            throw CtrlError.failure("the MajorDomo stopped before build \(id) ended")
        }
    }

    @Sendable static func cancel(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            let id = session.positional("BUILD") ?? ""
            let summary = try await session.client.delete("/builds/\(segment(id))", as: BuildSummary.self)
            Output.out(session.json ? "{\"cancelled\":\"\(summary.id)\"}\n" : "build \(summary.id) cancelled\n")
            return .success
        }
    }

    @Sendable static func monitor(_ invocation: Invocation) async -> ExitStatus {
        await withSession(invocation) { session in
            for try await event in session.client.events("/events", lastEventID: try await session.lastEvent()) {
                if session.json {
                    Output.out("{\"id\":\(event.id ?? "null"),\"kind\":\"\(event.event)\",\"data\":\(event.data)}\n")
                } else if let line = EventLine.render(event) {
                    Output.out(line + "\n")
                }
            }
            throw CtrlError.failure("the MajorDomo ended the event stream (it stopped)")
        }
    }

    /// Whether Ctrl-C came, and how often.
    final class Interrupted: Sendable {
        private let count = Mutex(0)

        /// Notes one; true if it is not the first.
        func note() -> Bool {
            count.withLock {
                $0 += 1
                return $0 > 1
            }
        }

        var happened: Bool { count.withLock { $0 > 0 } }
    }
}

/// Why `cp ctrl` stops, with its exit status.
enum CtrlError: Error, CustomStringConvertible {
    case usage(String)
    case failure(String)

    var description: String {
        switch self {
        case .usage(let message), .failure(let message): return message
        }
    }

    var status: ExitStatus {
        switch self {
        case .usage: return .usage
        case .failure: return .failure
        }
    }
}
