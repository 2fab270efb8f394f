import Hummingbird
import Synchronization

/// Each route's method and path pattern, recorded as the route is added: a request for a
/// path that has routes, but none for its method, is answered 405 with `Allow` naming them.
final class RouteMethods: Sendable {
    private let routes = Mutex<[(method: HTTPRequest.Method, components: [Substring])]>([])

    func add(_ method: HTTPRequest.Method, _ pattern: String) {
        routes.withLock { $0.append((method, pattern.split(separator: "/"))) }
    }

    /// The methods of the routes whose pattern matches `path` (`:name` one component, `**`
    /// one or more), in the order they were added.
    func allowed(_ path: String) -> [HTTPRequest.Method] {
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var methods: [HTTPRequest.Method] = []
        for route in routes.withLock({ $0 }) where Self.matches(route.components, Array(components)) {
            if !methods.contains(route.method) { methods.append(route.method) }
        }
        return methods
    }

    private static func matches(_ pattern: [Substring], _ components: [Substring]) -> Bool {
        for (index, part) in pattern.enumerated() {
            if part == "**" { return components.count > index && !components[index...].contains("") }
            guard index < components.count, !components[index].isEmpty else { return false }
            if !part.hasPrefix(":") && part != components[index] { return false }
        }
        return pattern.count == components.count || (pattern.isEmpty && components == [""])
    }
}

extension Router {
    /// Adds a route for `method` on `path`, recorded in `methods`.
    @discardableResult
    func on(
        _ method: HTTPRequest.Method, _ path: String, recordedIn methods: RouteMethods,
        use handler: @escaping @Sendable (Request, Context) async throws -> some ResponseGenerator
    ) -> Self {
        methods.add(method, path)
        return on(RouterPath(path), method: method, use: handler)
    }
}
