import Foundation

/// Starts a `NATSTestServer`, runs `body` with it, and stops it and deletes its directory
/// on every path out — including when `body` throws or the task is cancelled.
/// The body's error wins over a cleanup error.
public func withNATSServer<T>(
    jetStream: Bool = false, searchPath: [String]? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (NATSTestServer) async throws -> T
) async throws -> T {
    let server = try await NATSTestServer.start(jetStream: jetStream, searchPath: searchPath)
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

/// Starts an `SSHTestServer`, runs `body` with it, and stops it and deletes its directory
/// on every path out — including when `body` throws or the task is cancelled.
/// The body's error wins over a cleanup error.
public func withSSHServer<T>(
    searchPath: [String]? = nil,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (SSHTestServer) async throws -> T
) async throws -> T {
    let server = try await SSHTestServer.start(searchPath: searchPath)
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
