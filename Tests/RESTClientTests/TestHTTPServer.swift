import Foundation
import Hummingbird
import Logging
import NIOCore
import TestSupport

struct Echo: Codable, ResponseCodable, Sendable, Equatable {
    var text: String
    var authorization: String?
}

/// A real HTTP server for the REST client's tests: Hummingbird on a free loopback port or a
/// Unix socket, with routes for each behaviour the client must handle.
func withTestHTTPServer<T: Sendable>(
    unixSocket: String? = nil, _ body: @Sendable (String) async throws -> T
) async throws -> T {
    let router = Router()
    router.post("/echo") { request, context -> Echo in
        let echo = try await request.decode(as: Echo.self, context: context)
        return Echo(text: echo.text.uppercased(), authorization: request.headers[.authorization])
    }
    router.get("/missing") { _, _ -> Echo in throw HTTPError(.notFound, message: "no such project 'thesis'") }
    router.get("/boom") { _, _ -> Echo in throw HTTPError(.internalServerError, message: "disk on fire") }
    router.get("/plain-error") { _, _ -> Response in
        Response(status: .badGateway, body: .init(byteBuffer: ByteBuffer(string: "upstream gone")))
    }
    router.get("/slow") { _, _ -> Echo in
        try await Task.sleep(for: .seconds(10))
        return Echo(text: "late")
    }
    router.get("/events") { _, _ in eventStream(count: 1_000, thenCut: false) }
    router.get("/events-cut") { _, _ in eventStream(count: 5, thenCut: true) }
    router.get("/events-forever") { _, _ -> Response in
        let headers: HTTPFields = [.contentType: "text/event-stream"]
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "data: first\n\n"))
                try await Task.sleep(for: .seconds(60))
                try await writer.finish(nil)
            })
    }
    let (ready, readyContinuation) = AsyncStream<String>.makeStream()
    let address: BindAddress = unixSocket.map { .unixDomainSocket(path: $0) } ?? .hostname("127.0.0.1", port: 0)
    let app = Application(
        router: router, configuration: .init(address: address),
        onServerRunning: { channel in
            if let unixSocket {
                readyContinuation.yield(unixSocket)
            } else {
                readyContinuation.yield("http://127.0.0.1:\(channel.localAddress?.port ?? 0)")
            }
        },
        logger: Logger(label: "test-http") { _ in SwiftLogNoOpLogHandler() })
    let server = Task { try await app.run() }
    defer { server.cancel() }
    var iterator = ready.makeAsyncIterator()
    guard let endpoint = await iterator.next() else { throw TestServerError.connectionClosed(what: "the HTTP server") }
    return try await body(endpoint)
}

private func eventStream(count: Int, thenCut: Bool) -> Response {
    let headers: HTTPFields = [.contentType: "text/event-stream"]
    return Response(
        status: .ok, headers: headers,
        body: ResponseBody { writer in
            for index in 0..<count {
                try await writer.write(ByteBuffer(string: "id: \(index)\nevent: progress\ndata: event \(index)\n\n"))
            }
            if thenCut { try await writer.write(ByteBuffer(string: "data: half an event\n")) }
            try await writer.finish(nil)
        })
}
