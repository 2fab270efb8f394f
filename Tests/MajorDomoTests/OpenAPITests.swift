import CPModel
import Foundation
import Hummingbird
import Logging
import MajorDomo
import MajorDomoServer
import RESTClient
import ServiceLifecycle
import TestSupport
import Testing

/// A JSON value, decoded strictly (`true` is not `1`), to check replies against the schemas.
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

/// `docs/openapi.yaml`, read, with what the tests need of it.
struct OpenAPIDocument {
    let root: YAMLValue

    init() throws {
        let text = try String(contentsOfFile: repository + "/docs/openapi.yaml", encoding: .utf8)
        root = try YAMLLoader.parse(text, file: "docs/openapi.yaml", what: "openapi")
    }

    /// "METHOD /path" for every operation.
    var operations: [String] {
        (root["paths"]?.entries ?? []).flatMap { path in
            (path.value.entries ?? []).map { "\($0.key.uppercased()) \(path.key)" }
        }.sorted()
    }

    /// The operation `method` on the documented `path`.
    func operation(_ method: String, _ path: String) -> YAMLValue? { root["paths"]?[path]?[method.lowercased()] }

    /// What is wrong with `value` as an instance of `schema` ("" for nothing).
    func problems(_ value: JSONValue, _ schema: YAMLValue, at path: String = "$") -> [String] {
        if case .scalar(let reference, _)? = schema["$ref"] {
            let name = reference.split(separator: "/").last.map(String.init) ?? ""
            guard let target = root["components"]?["schemas"]?[name] else { return ["\(path): no schema \(reference)"] }
            return problems(value, target, at: path)
        }
        var found: [String] = []
        if case .scalar(let type, _)? = schema["type"], !Self.matches(value, type) {
            return ["\(path): not \(type)"]
        }
        if case .sequence(let choices, _)? = schema["enum"], case .string(let text) = value,
            !choices.contains(where: { if case .scalar(text, _) = $0 { true } else { false } })
        {
            found.append("\(path): '\(text)' is none of the enum")
        }
        if case .object(let members) = value {
            if case .sequence(let required, _)? = schema["required"] {
                for case .scalar(let key, _) in required where members[key] == nil {
                    found.append("\(path): missing '\(key)'")
                }
            }
            for entry in schema["properties"]?.entries ?? [] {
                if let member = members[entry.key] {
                    found += problems(member, entry.value, at: path + "." + entry.key)
                }
            }
        }
        if case .array(let items) = value, let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() { found += problems(item, itemSchema, at: "\(path)[\(index)]") }
        }
        return found
    }

    static func matches(_ value: JSONValue, _ type: String) -> Bool {
        switch (value, type) {
        case (.object, "object"), (.array, "array"), (.string, "string"), (.bool, "boolean"), (.number, "number"):
            return true
        case (.number(let number), "integer"): return number == number.rounded()
        default: return false
        }
    }

    /// The JSON schema of operation `method path`'s reply with `status`, if documented.
    func responseSchema(_ method: String, _ path: String, status: Int) -> YAMLValue?? {
        guard var response = operation(method, path)?["responses"]?[String(status)] else { return nil }
        if case .scalar(let reference, _)? = response["$ref"] {
            response = root["components"]?["responses"]?[String(reference.split(separator: "/").last ?? "")] ?? response
        }
        return .some(response["content"]?["application/json"]?["schema"])
    }
}

/// The REST API, in this process, over a real Unix socket: its routes are the document's, and
/// its replies are what the document says, errors included.
@Suite(.serialized) struct OpenAPITests {
    @Test func theRouterAndTheDocumentListTheSameRoutes() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let core = try await Coordinator(
            statePath: scratch.file("md.db"), configuration: .init(rulePaths: [repository + "/rules"], pod: "p"),
            logger: Logger(label: "test"))
        let router = MajorDomoRoutes.router(core, token: nil, version: "test")
        // The router's catch-all (`**`) is the document's `{path}`.
        let served = router.routes.map {
            "\($0.method.rawValue) \($0.path)".replacingOccurrences(of: "/**", with: "/{path}")
        }
        .sorted()
        #expect(served == (try OpenAPIDocument().operations))
    }

    @Test func everyReplyIsDocumentedAndValidates() async throws {
        let document = try OpenAPIDocument()
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try FileManager.default.copyItem(atPath: repository + "/examples/c-hello", toPath: scratch.file("hello"))
        try scratch.write("broken/tasks.tyml", "tasks:\n  t: {rule: nope, dependencies: [a], outputs: [b]}\n")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let core = try await Coordinator(
            statePath: scratch.file("md.db"), configuration: .init(rulePaths: [repository + "/rules"], pod: "p"),
            logger: logger)
        let socket = scratch.file("run/md.sock")
        let services = try MajorDomoListeners.applications(
            MajorDomoRoutes.router(core, token: nil, version: "test"), socket: socket, host: nil, port: 0,
            logger: logger, onListening: { _ in })
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let running = Task { try await group.run() }
        let client = RESTClient(RESTOptions(endpoint: .unixSocket(socket)))
        try await waitUntil(deadline: .seconds(20), "the socket") { FileManager.default.fileExists(atPath: socket) }
        let hello = scratch.file("hello")
        // (method, path as sent, path as documented, body, status expected)
        let calls: [(String, String, String, String?, Int)] = [
            ("GET", "/health", "/health", nil, 200),
            ("POST", "/project/add", "/project/add", #"{"directory": "\#(hello)"}"#, 201),
            ("POST", "/project/add", "/project/add", #"{"directory": "\#(hello)"}"#, 409),
            ("POST", "/project/add", "/project/add", #"{"directory": 1}"#, 400),
            ("POST", "/project/add", "/project/add", #"{"directory": "\#(scratch.file("broken"))"}"#, 422),
            ("GET", "/projects", "/projects", nil, 200),
            ("GET", "/project/targets/hello", "/project/targets/{project}", nil, 200),
            ("GET", "/project/targets/nope", "/project/targets/{project}", nil, 404),
            ("GET", "/project/definition/hello", "/project/definition/{project}", nil, 200),
            ("GET", "/project/buildTarget/hello/hello", "/project/buildTarget/{project}/{target}", nil, 200),
            ("GET", "/project/buildTarget/hello/helo", "/project/buildTarget/{project}/{target}", nil, 404),
            ("GET", "/graph/hello?format=json", "/graph/{project}", nil, 200),
            ("GET", "/graph/hello?format=svg", "/graph/{project}", nil, 200),
            ("GET", "/graph/hello?format=png", "/graph/{project}", nil, 400),
            ("GET", "/", "/", nil, 200),
            ("GET", "/ui/app.js", "/ui/{file}", nil, 200),
            ("GET", "/ui/nope.js", "/ui/{file}", nil, 404),
            ("GET", "/files/hello", "/files/{project}", nil, 200),
            ("GET", "/files/hello/hello.c", "/files/{project}/{path}", nil, 404),
            ("GET", "/files/hello/a/%2E%2E/b", "/files/{project}/{path}", nil, 400),
            ("GET", "/why/hello/hello", "/why/{project}/{path}", nil, 200),
            ("GET", "/why/hello/nothing.c", "/why/{project}/{path}", nil, 404),
            ("POST", "/builds", "/builds", #"{"project": "hello"}"#, 201),
            ("POST", "/builds", "/builds", #"{"project": "hello", "targets": ["hello"]}"#, 201),
            ("POST", "/builds", "/builds", #"{"project": "nope"}"#, 404),
            ("POST", "/builds", "/builds", #"{"project": "hello", "targets": ["nope"]}"#, 404),
            ("GET", "/builds", "/builds", nil, 200),
            ("GET", "/builds/nope", "/builds/{id}", nil, 404),
            ("DELETE", "/builds/nope", "/builds/{id}", nil, 404),
            ("GET", "/builds/nope/log", "/builds/{id}/log", nil, 404),
            ("GET", "/chefs", "/chefs", nil, 200),
            ("GET", "/events?limit=2", "/events", nil, 200),
            ("GET", "/events?limit=ten", "/events", nil, 400),
            ("POST", "/project/update", "/project/update", #"{"name": "hello"}"#, 200),
            ("POST", "/project/remove", "/project/remove", #"{"name": "hello"}"#, 200),
            ("POST", "/project/remove", "/project/remove", #"{"name": "hello"}"#, 404),
        ]
        for (method, sent, documented, body, expected) in calls {
            let (status, reply) = await Self.call(client, method, sent, body)
            #expect(status == expected, "\(method) \(sent): \(status) \(String(decoding: reply, as: UTF8.self))")
            guard let schema = document.responseSchema(method, documented, status: status) else {
                Issue.record("\(method) \(documented) answered \(status), which docs/openapi.yaml does not list")
                continue
            }
            guard let schema, !sent.hasSuffix("format=svg") else { continue }  // not JSON (the graph as DOT, SVG)
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(reply))
            #expect(document.problems(value, schema).isEmpty, "\(method) \(sent): \(document.problems(value, schema))")
        }
        // A known path asked with a method it does not have: 405, naming those it has, as the
        // Allow header does; a path with no route at all stays 404.
        for (method, path, allowed) in [
            ("TRACE", "/projects", "GET"), ("DELETE", "/builds", "POST or GET"), ("POST", "/files/hello/a/b", "GET"),
            ("PUT", "/", "GET"), ("GET", "/project/add", "POST"),
        ] {
            let (status, reply) = await Self.call(client, method, path, nil)
            let text = String(decoding: reply, as: UTF8.self)
            #expect(status == 405 && text.contains("use \(allowed)"), "\(method) \(path): \(status) \(text)")
        }
        #expect(await Self.call(client, "TRACE", "/nothing/here", nil).0 == 404)
        let raw = try await runProcess(
            "curl", ["-s", "-i", "-X", "DELETE", "--unix-socket", socket, "http://localhost/builds"])
        #expect(raw.stdout.lowercased().contains("allow: post, get"), "\(raw.stdout)")
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// The web page's files are served without the token that the API wants; the graph drawn
    /// as SVG holds the cycle as a cluster; without Graphviz, a 501 that names the package.
    @Test func theWebPageWithATokenAndTheGraphAsSVG() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        try FileManager.default.copyItem(atPath: repository + "/examples/latex-paper", toPath: scratch.file("paper"))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let core = try await Coordinator(
            statePath: scratch.file("md.db"), configuration: .init(rulePaths: [repository + "/rules"], pod: "p"),
            logger: logger)
        _ = try await core.addProject(directory: scratch.file("paper"), name: "paper", pod: "p", watch: false)
        let socket = scratch.file("run/md.sock")
        let bare = scratch.file("run/bare.sock")
        let services =
            try MajorDomoListeners.applications(
                MajorDomoRoutes.router(core, token: "t0ken", version: "test"), socket: socket, host: nil, port: 0,
                logger: logger, onListening: { _ in })
            + MajorDomoListeners.applications(
                MajorDomoRoutes.router(
                    core, token: nil, version: "test", drawing: GraphDrawing(searchPath: [scratch.file("nothing")])),
                socket: bare, host: nil, port: 0, logger: logger, onListening: { _ in })
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let running = Task { try await group.run() }
        try await waitUntil(deadline: .seconds(20), "the sockets") {
            FileManager.default.fileExists(atPath: socket) && FileManager.default.fileExists(atPath: bare)
        }
        let anonymous = RESTClient(RESTOptions(endpoint: .unixSocket(socket)))
        let page = try await anonymous.send("GET", "/", body: nil)
        #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("/ui/app.js"))
        for file in ["app.js", "api.js", "build.js", "graph.js", "dom.js", "style.css"] {
            #expect(try await anonymous.send("GET", "/ui/" + file, body: nil).status == 200, "\(file)")
        }
        #expect(await Self.call(anonymous, "GET", "/health", nil).0 == 401)
        let holder = RESTClient(RESTOptions(endpoint: .unixSocket(socket), token: "t0ken"))
        let svg = String(
            decoding: try await holder.send("GET", "/graph/paper?format=svg", body: nil).body, as: UTF8.self)
        #expect(svg.contains("<svg") && svg.contains("class=\"cluster\"") && svg.contains("<title>t0</title>"))
        let (status, reply) = await Self.call(
            RESTClient(RESTOptions(endpoint: .unixSocket(bare))), "GET", "/graph/paper?format=svg", nil)
        #expect(status == 501)
        #expect(String(decoding: reply, as: UTF8.self).contains("apt-get install graphviz"))
        await group.triggerGracefulShutdown()
        try await running.value
    }

    /// Status and body, whatever the status.
    static func call(_ client: RESTClient, _ method: String, _ path: String, _ body: String?) async -> (Int, [UInt8]) {
        do {
            let response = try await client.send(method, path, body: body.map { Array($0.utf8) })
            return (response.status, response.body)
        } catch .http(let status, let message) {
            let reply =
                #"{"error": {"message": \#(String(decoding: try! JSONEncoder().encode(message), as: UTF8.self))}}"#
            return (status, Array(reply.utf8))
        } catch {
            return (0, Array("\(error)".utf8))
        }
    }
}
