import DependencyGraph
import Foundation
import Hummingbird
import MajorDomo
import RulesManager

/// The MajorDomo's REST API (DESIGN §6; `docs/openapi.yaml` describes every route, and a test
/// checks that the two agree): the originals' project routes, the graph, the files and builds.
public enum MajorDomoRoutes {
    /// What `GET /health` answers.
    public struct Health: Codable, Sendable {
        public var status: String
        public var version: String
        public var pod: String
        public var projects: Int
        /// The id of the newest event (0: none yet): a client that gives it as `Last-Event-ID`
        /// gets what happens from now on, and nothing older.
        public var lastEvent: Int
    }

    /// The body of `POST /project/add`.
    struct AddProject: Codable {
        var directory: String
        var name: String?
        var pod: String?
        var sftp: String?
    }

    /// The body of `POST /builds`.
    struct StartBuild: Codable {
        var project: String
        var targets: [String]?
    }

    /// The body of `POST /project/update` and `/project/remove`.
    struct NamedProject: Codable {
        var name: String
    }

    /// What `POST /project/remove` answers.
    struct Removed: Codable {
        var removed: String
    }

    /// The router over `coordinator`; with a `token`, every request must carry it but those
    /// for the web page's own files (the page asks for the token, then sends it).
    public static func router(
        _ coordinator: Coordinator, token: String?, version: String, drawing: GraphDrawing = GraphDrawing()
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        // Middleware first: a route wraps the middleware added before it.
        router.add(middleware: JSONErrorMiddleware())
        WebPage.addRoutes(router)
        if let token { router.add(middleware: BearerTokenMiddleware(token: Array(token.utf8))) }
        router.get("/health") { _, _ in
            try JSONBody.response(
                Health(
                    status: "ok", version: version, pod: coordinator.configuration.pod,
                    projects: await coordinator.projectList().count, lastEvent: await coordinator.lastEventID))
        }
        addProjectRoutes(router, coordinator)
        router.post("/builds") { request, _ in
            let body = try await JSONBody.decode(StartBuild.self, from: request)
            let started = try await coordinator.startBuild(body.project, targets: body.targets ?? [])
            return try JSONBody.response(started, status: .created)
        }
        router.get("/builds") { _, _ in try JSONBody.response(await coordinator.buildList()) }
        router.get("/builds/:id") { _, context in
            try JSONBody.response(try await coordinator.build(try context.parameters.require("id")))
        }
        router.delete("/builds/:id") { _, context in
            try JSONBody.response(try await coordinator.cancelBuild(try context.parameters.require("id")))
        }
        router.get("/builds/:id/log") { request, context in
            let id = try context.parameters.require("id")
            let task = request.uri.queryParameters.get("task")
            if let follow = request.uri.queryParameters.get("follow"), try EventStream.flag(follow, "follow") {
                return EventStream.response(request, lines: try await coordinator.followLog(id, task: task)) {
                    (try? await coordinator.build(id))?.build.state != .running
                }
            }
            let text = try await coordinator.log(id, task: task)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/chefs") { _, _ in try JSONBody.response(await coordinator.chefList()) }
        router.get("/events") { request, _ in try await EventStream.response(request, coordinator) }
        router.get("/graph/:project") { request, context in
            let name = try projectName(context)
            let text = request.uri.queryParameters.get("format") ?? "dot"
            if text == "svg" {
                let dot = try await coordinator.graph(name, format: .dot)
                let size = await coordinator.projectList().first { $0.name == name }.map { $0.tasks + $0.artefacts }
                let svg = try await drawing.svg(dot, nodes: size ?? 0)
                return Response(
                    status: .ok, headers: [.contentType: "image/svg+xml; charset=utf-8"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: svg)))
            }
            guard let format = GraphExport.Format(rawValue: text) else {
                throw MajorDomoError.badRequest("unknown format '\(text)': use dot, json, mermaid or svg")
            }
            let graph = try await coordinator.graph(name, format: format)
            let type = format == .json ? "application/json" : format == .dot ? "text/vnd.graphviz" : "text/plain"
            return Response(
                status: .ok, headers: [.contentType: type + "; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: graph)))
        }
        return router
    }

    /// The originals' project routes.
    private static func addProjectRoutes(_ router: Router<BasicRequestContext>, _ coordinator: Coordinator) {
        router.get("/projects") { _, _ in try JSONBody.response(await coordinator.projectList()) }
        router.post("/project/add") { request, _ in
            let body = try await JSONBody.decode(AddProject.self, from: request)
            let added = try await coordinator.addProject(
                directory: body.directory, name: body.name, pod: body.pod, sftp: body.sftp)
            return try JSONBody.response(added, status: .created)
        }
        router.post("/project/update") { request, _ in
            let body = try await JSONBody.decode(NamedProject.self, from: request)
            return try JSONBody.response(try await coordinator.updateProject(body.name))
        }
        router.post("/project/remove") { request, _ in
            let body = try await JSONBody.decode(NamedProject.self, from: request)
            try await coordinator.removeProject(body.name)
            return try JSONBody.response(Removed(removed: body.name))
        }
        router.get("/project/targets/:project") { _, context in
            try JSONBody.response(try await coordinator.targets(try projectName(context)))
        }
        router.get("/project/definition/:project") { _, context in
            try JSONBody.response(try await coordinator.definition(try projectName(context)))
        }
        router.get("/project/buildTarget/:project/:target") { _, context in
            try JSONBody.response(
                try await coordinator.buildTarget(try projectName(context), try context.parameters.require("target")))
        }
        router.get("/files/:project") { _, context in
            try JSONBody.response(try await coordinator.files(try projectName(context)))
        }
        router.get("/files/:project/**") { _, context in
            try JSONBody.response(try await coordinator.file(try projectName(context), try artefactPath(context)))
        }
        router.get("/why/:project/**") { _, context in
            try JSONBody.response(try await coordinator.why(try projectName(context), try artefactPath(context)))
        }
    }

    /// The path after the project's name (`**`), each component percent-decoded; a path that
    /// is not clean (`..`, empty components) is refused.
    static func artefactPath(_ context: BasicRequestContext) throws -> String {
        let segments = context.parameters.getCatchAll().map { $0.removingPercentEncoding }
        guard !segments.contains(nil) else {
            throw MajorDomoError.badRequest("the path is not validly percent-encoded")
        }
        let path = segments.compactMap { $0 }.joined(separator: "/")
        guard ProjectPath.normalize(path) == path else {
            throw MajorDomoError.badRequest("'\(path)' is not a clean path inside the project")
        }
        return path
    }

    /// The `:project` path parameter, percent-decoded (the router matches the raw path).
    static func projectName(_ context: BasicRequestContext) throws -> String {
        let raw = try context.parameters.require("project")
        guard let name = raw.removingPercentEncoding else {
            throw MajorDomoError.badRequest("'\(raw)' is not a valid percent-encoded project name")
        }
        return name
    }
}
