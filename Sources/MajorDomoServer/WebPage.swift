import Hummingbird

/// The MajorDomo's web page (issue 16): plain HTML, CSS and JavaScript modules in `Web/`,
/// compiled into the binary as package resources, served at `/` and `/ui/<file>` without the
/// token (the page asks for it, keeps it in session storage and sends it with every request
/// to the API). Nothing is fetched from elsewhere; the page talks to the REST API alone.
enum WebPage {
    struct File {
        let type: String
        let bytes: [UInt8]
    }

    /// The page's files by name.
    static let files: [String: File] = [
        "index.html": File(type: "text/html; charset=utf-8", bytes: PackageResources.index_html),
        "style.css": File(type: "text/css; charset=utf-8", bytes: PackageResources.style_css),
        "app.js": File(type: "text/javascript; charset=utf-8", bytes: PackageResources.app_js),
        "api.js": File(type: "text/javascript; charset=utf-8", bytes: PackageResources.api_js),
        "build.js": File(type: "text/javascript; charset=utf-8", bytes: PackageResources.build_js),
        "graph.js": File(type: "text/javascript; charset=utf-8", bytes: PackageResources.graph_js),
        "dom.js": File(type: "text/javascript; charset=utf-8", bytes: PackageResources.dom_js),
    ]

    /// Scripts and styles from this origin only; no inline script, no framing.
    static let policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static func addRoutes(_ router: Router<BasicRequestContext>, _ methods: RouteMethods) {
        router.on(.get, "/", recordedIn: methods) { _, _ in try response("index.html") }
        router.on(.get, "/ui/:file", recordedIn: methods) { _, context in
            try response(try context.parameters.require("file"))
        }
    }

    static func response(_ name: String) throws -> Response {
        guard let file = files[name] else { throw HTTPError(.notFound, message: "the web page has no file '\(name)'") }
        return Response(
            status: .ok,
            headers: [
                .contentType: file.type, .cacheControl: "no-cache", .contentSecurityPolicy: policy,
                .init("X-Content-Type-Options")!: "nosniff",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}
