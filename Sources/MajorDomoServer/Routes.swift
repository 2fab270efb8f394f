import CPModel
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
        let methods = RouteMethods()
        // Middleware first: a route wraps the middleware added before it.
        router.add(middleware: JSONErrorMiddleware(methods: methods))
        WebPage.addRoutes(router, methods)
        if let token { router.add(middleware: BearerTokenMiddleware(token: Array(token.utf8))) }
        router.on(.get, "/health", recordedIn: methods) { _, _ in
            try JSONBody.response(
                Health(
                    status: "ok", version: version, pod: coordinator.configuration.pod,
                    projects: await coordinator.projectList().count, lastEvent: await coordinator.lastEventID))
        }
        addProjectRoutes(router, coordinator, methods)
        router.on(.post, "/builds", recordedIn: methods) { request, _ in
            let body = try await JSONBody.decode(StartBuild.self, from: request)
            let started = try await coordinator.startBuild(body.project, targets: body.targets ?? [])
            return try JSONBody.response(started, status: .created)
        }
        router.on(.get, "/builds", recordedIn: methods) { _, _ in try JSONBody.response(await coordinator.buildList()) }
        router.on(.get, "/builds/:id", recordedIn: methods) { _, context in
            try JSONBody.response(try await coordinator.build(try context.parameters.require("id")))
        }
        router.on(.delete, "/builds/:id", recordedIn: methods) { _, context in
            try JSONBody.response(try await coordinator.cancelBuild(try context.parameters.require("id")))
        }
        router.on(.get, "/builds/:id/log", recordedIn: methods) { request, context in
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
        router.on(.get, "/chefs", recordedIn: methods) { _, _ in try JSONBody.response(await coordinator.chefList()) }
        router.on(.get, "/events", recordedIn: methods) { request, _ in
            try await EventStream.response(request, coordinator)
        }
        router.on(.get, "/graph/:project", recordedIn: methods) { request, context in
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
    private static func addProjectRoutes(
        _ router: Router<BasicRequestContext>, _ coordinator: Coordinator, _ methods: RouteMethods
    ) {
        router.on(.get, "/projects", recordedIn: methods) { _, _ in
            try JSONBody.response(await coordinator.projectList())
        }
        router.on(.post, "/project/add", recordedIn: methods) { request, _ in
            let body = try await JSONBody.decode(AddProject.self, from: request)
            let added = try await coordinator.addProject(
                directory: body.directory, name: body.name, pod: body.pod, sftp: body.sftp)
            return try JSONBody.response(added, status: .created)
        }
        router.on(.post, "/project/update", recordedIn: methods) { request, _ in
            let body = try await JSONBody.decode(NamedProject.self, from: request)
            return try JSONBody.response(try await coordinator.updateProject(body.name))
        }
        router.on(.post, "/project/remove", recordedIn: methods) { request, _ in
            let body = try await JSONBody.decode(NamedProject.self, from: request)
            try await coordinator.removeProject(body.name)
            return try JSONBody.response(Removed(removed: body.name))
        }
        router.on(.get, "/project/targets/:project", recordedIn: methods) { _, context in
            try JSONBody.response(try await coordinator.targets(try projectName(context)))
        }
        router.on(.get, "/project/definition/:project", recordedIn: methods) { _, context in
            try JSONBody.response(try await coordinator.definition(try projectName(context)))
        }
        router.on(.get, "/project/buildTarget/:project/:target", recordedIn: methods) { _, context in
            try JSONBody.response(
                try await coordinator.buildTarget(try projectName(context), try context.parameters.require("target")))
        }
        router.on(.get, "/files/:project", recordedIn: methods) { _, context in
            try JSONBody.response(try await coordinator.files(try projectName(context)))
        }
        router.on(.get, "/files/:project/**", recordedIn: methods) { _, context in
            let name = try projectName(context)
            try await coordinator.requireProject(name)
            return try JSONBody.response(try await coordinator.file(name, try artefactPath(context, in: name)))
        }
        router.on(.get, "/why/:project/**", recordedIn: methods) { _, context in
            let name = try projectName(context)
            try await coordinator.requireProject(name)
            return try JSONBody.response(try await coordinator.why(name, try artefactPath(context, in: name)))
        }
    }

    /// The path after the project's name (`**`), each component percent-decoded; a path that
    /// is not clean (`.`, `..`, empty components) is refused (400); a clean one that no file
    /// can have (a NUL, a name over 255 bytes) is not found (404).
    static func artefactPath(_ context: BasicRequestContext, in project: String) throws -> String {
        let segments = context.parameters.getCatchAll().map { $0.removingPercentEncoding }
        guard !segments.contains(nil) else {
            throw MajorDomoError.badRequest("the path is not validly percent-encoded")
        }
        let path = segments.compactMap { $0 }.joined(separator: "/")
        let components = PathSyntax.components(path, omittingEmpty: false)
        guard !components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
            throw MajorDomoError.badRequest(
                "'\(path.prefix(200))' is not a clean path inside the project (no '.', '..' or empty names)")
        }
        guard ProjectPath.normalize(path) == path else {
            throw MajorDomoError.notFound(
                "project '\(project)' has no file '\(path.prefix(200))': no file can have that path")
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
