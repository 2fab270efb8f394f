import Foundation
import Hummingbird
import MajorDomo
import ServiceLifecycle

/// `GET /events`: the MajorDomo's events as Server-Sent Events (`id:` numbered, `event:` the
/// kind, `data:` its JSON). `Last-Event-ID` (or `?after=N`) replays what a reconnecting client
/// missed, if the MajorDomo still holds it; `?limit=N` ends the stream after N events; a `:`
/// comment every 15 s of quiet keeps proxies from closing it. The stream ends when the client
/// goes or the MajorDomo stops.
enum EventStream {
    static func response(_ request: Request, _ coordinator: Coordinator) async throws -> Response {
        let query = request.uri.queryParameters
        // (An empty Last-Event-ID is none, as EventSource means it.)
        let header = request.headers.first { $0.name.canonicalName == "last-event-id" && !$0.value.isEmpty }?.value
        let after = try number(header ?? query.get("after").map { String($0) }, "Last-Event-ID")
        let limit = try number(query.get("limit").map { String($0) }, "limit")
        let deliveries = await coordinator.subscribe(after: after)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                var sent = 0
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    guard limit != 0 else { return }
                    for await delivery in deliveries.cancelOnGracefulShutdown() {
                        switch delivery {
                        case .keepAlive:
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        case .event(let event):
                            try await writer.write(ByteBuffer(string: frame(event)))
                            sent += 1
                        }
                        if let limit, sent >= limit { break }
                    }
                }
                try await writer.finish(nil)
            })
    }

    /// `GET /builds/<id>/log?follow=true`: a build's output as it comes, one `line` event
    /// per line (data: `{"task", "line"}`), then an `end` event if the build has ended (not
    /// when the MajorDomo stops: the client cannot take that for the build's end).
    static func response(
        _ request: Request, lines: AsyncStream<LogLine>, buildEnded: @escaping @Sendable () async -> Bool
    ) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    for await line in lines.cancelOnGracefulShutdown() {
                        let data = (try? encoder.encode(line)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                        try await writer.write(ByteBuffer(string: "event: line\ndata: \(data)\n\n"))
                    }
                    if await buildEnded() { try await writer.write(ByteBuffer(string: "event: end\ndata: {}\n\n")) }
                }
                try await writer.finish(nil)
            })
    }

    /// A query flag: true or false (1 or 0); a 400 otherwise.
    static func flag(_ text: String, _ what: String) throws -> Bool {
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw MajorDomoError.badRequest("'\(what)' must be true or false, not '\(text)'")
        }
    }

    /// One event as `text/event-stream` lines.
    static func frame(_ event: MajorDomoEvent) -> String {
        "id: \(event.id)\nevent: \(event.kind.rawValue)\ndata: \(event.data)\n\n"
    }

    /// A whole number given as `what`, if given; a 400 if it is not one.
    private static func number(_ text: String?, _ what: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw MajorDomoError.badRequest("'\(what)' must be a whole number, not '\(text)'")
        }
        return value
    }
}
