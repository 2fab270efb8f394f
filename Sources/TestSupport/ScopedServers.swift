import Foundation

/// A server a test starts and must stop (deleting its directory) on every path out.
public protocol ScopedTestServer: AnyObject, Sendable {
    func shutdown() async throws
}

extension NATSTestServer: ScopedTestServer {}
extension SSHTestServer: ScopedTestServer {}

/// Runs `body` with `server`, then shuts it down on every path out — including when `body`
/// throws or the task is cancelled. The body's error wins over a cleanup error.
public func withScopedServer<Server: ScopedTestServer, T>(
    _ server: Server, isolation: isolated (any Actor)? = #isolation,
    _ body: (Server) async throws -> T
) async throws -> T {
    let result: T
    do {
        result = try await body(server)
    } catch {
        try? await server.shutdown()
        throw error
    }
    try await server.shutdown()
    return result
}

/// Starts a `NATSTestServer` and runs `body` with it, stopping it on every path out.
public func withNATSServer<T>(
    jetStream: Bool = false, domain: String? = nil, hub: Bool = false, leafOf: [String] = [],
    extraArguments: [String] = [], searchPath: [String]? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (NATSTestServer) async throws -> T
) async throws -> T {
    let server = try await NATSTestServer.start(
        jetStream: jetStream, domain: domain, hub: hub, leafOf: leafOf, extraArguments: extraArguments,
        searchPath: searchPath)
    return try await withScopedServer(server, body)
}

/// Starts an `SSHTestServer` and runs `body` with it, stopping it on every path out.
public func withSSHServer<T>(
    searchPath: [String]? = nil,
    fileSizeLimit: Int? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (SSHTestServer) async throws -> T
) async throws -> T {
    let server = try await SSHTestServer.start(searchPath: searchPath, fileSizeLimit: fileSizeLimit)
    return try await withScopedServer(server, body)
}
