import Foundation
import TestSupport
import Testing

@testable import RESTClient

private func client(_ endpoint: String, token: String? = nil, timeout: Duration = .seconds(30)) -> RESTClient {
    var options = RESTOptions(endpoint: endpoint.hasPrefix("/") ? .unixSocket(endpoint) : .url(endpoint), token: token)
    options.timeout = timeout
    return RESTClient(options)
}

@Suite(.serialized) struct RESTClientTests {
    @Test func aJSONRoundTripCarriesTheBearerToken() async throws {
        try await withTestHTTPServer { url in
            let reply = try await client(url, token: "s3cret").post("/echo", Echo(text: "abc"), as: Echo.self)
            #expect(reply == Echo(text: "ABC", authorization: "Bearer s3cret"))
            do {
                _ = try await client(url).send("PUT", "/echo")
                Issue.record("PUT on a POST-only route succeeded")
            } catch {
                guard case .http(let status, _)? = error as? RESTError else { throw error }
                #expect(status == 404 || status == 405)
            }
        }
    }

    @Test func errorStatusesCarryTheServersMessage() async throws {
        try await withTestHTTPServer { url in
            await #expect(throws: RESTError.http(status: 404, message: "no such project 'thesis'")) {
                try await client(url).get("/missing", as: Echo.self)
            }
            await #expect(throws: RESTError.http(status: 500, message: "disk on fire")) {
                try await client(url).get("/boom", as: Echo.self)
            }
            await #expect(throws: RESTError.http(status: 502, message: "upstream gone")) {
                try await client(url).get("/plain-error", as: Echo.self)
            }
        }
    }

    @Test func aUnixSocketServerAnswers() async throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("majordomo.sock")
        try await withTestHTTPServer(unixSocket: socket) { endpoint in
            let reply = try await client(endpoint).post("/echo", Echo(text: "via socket"), as: Echo.self)
            #expect(reply.text == "VIA SOCKET")
        }
    }

    @Test func nobodyListeningSaysHowToStartAMajorDomo() async throws {
        let directory = try TemporaryDirectory()
        let socket = directory.file("none.sock")
        do {
            _ = try await client(socket).get("/projects", as: Echo.self)
            Issue.record("a request to nothing succeeded")
        } catch {
            #expect(error.description == "no MajorDomo at \(socket) — start one with 'cp majordomo serve' or 'cp up'")
        }
        let port = try freeLoopbackPort()
        await #expect(throws: RESTError.unreachable(endpoint: "http://127.0.0.1:\(port)")) {
            try await client("http://127.0.0.1:\(port)").get("/projects", as: Echo.self)
        }
    }

    @Test func aSlowServerTimesOut() async throws {
        try await withTestHTTPServer { url in
            let started = ContinuousClock.now
            await #expect(throws: RESTError.timeout(endpoint: url, seconds: 0.5)) {
                try await client(url, timeout: .milliseconds(500)).get("/slow", as: Echo.self)
            }
            #expect(ContinuousClock.now - started < .seconds(9), "the timeout did not cut the request short")
        }
    }

    @Test func aThousandEventsArriveInOrder() async throws {
        try await withTestHTTPServer { url in
            var received: [ServerSentEvent] = []
            for try await event in client(url).events("/events") { received.append(event) }
            #expect(received.count == 1_000)
            #expect(received.map(\.data) == (0..<1_000).map { "event \($0)" })
            #expect(received.allSatisfy { $0.event == "progress" })
            #expect(received.last?.id == "999")
        }
    }

    @Test func aStreamCutInTheMiddleOfAnEventIsAnError() async throws {
        try await withTestHTTPServer { url in
            var received: [String] = []
            do {
                for try await event in client(url).events("/events-cut") { received.append(event.data) }
                Issue.record("the cut stream ended cleanly")
            } catch {
                #expect(error as? RESTError == .streamInterrupted(path: "/events-cut"))
            }
            #expect(received == (0..<5).map { "event \($0)" })
        }
    }

    @Test func leavingAStreamStopsTheTransfer() async throws {
        try await withTestHTTPServer { url in
            let started = ContinuousClock.now
            for try await event in client(url).events("/events-forever") {
                #expect(event.data == "first")
                break
            }
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    @Test func anEventStreamThatIsAnErrorSaysSo() async throws {
        try await withTestHTTPServer { url in
            await #expect(throws: RESTError.http(status: 404, message: "no such project 'thesis'")) {
                for try await _ in client(url).events("/missing") {}
            }
        }
    }
}

@Suite struct ServerSentEventParserTests {
    @Test func framingFollowsTheSpecification() {
        var parser = ServerSentEventParser()
        let text = ": comment\nevent: build\ndata: one\ndata: two\nid: 7\n\ndata:three\r\n\r\nretry: 10\ndata: four\r\r"
        let events = parser.feed(Array(text.utf8))
        #expect(
            events == [
                ServerSentEvent(event: "build", data: "one\ntwo", id: "7"),
                ServerSentEvent(event: "message", data: "three", id: "7"),
                ServerSentEvent(event: "message", data: "four", id: "7"),
            ])
        #expect(!parser.hasPartialEvent)
    }

    @Test func eventsSplitAcrossChunksAreJoined() {
        var parser = ServerSentEventParser()
        #expect(parser.feed(Array("da".utf8)).isEmpty)
        #expect(parser.feed(Array("ta: x\r".utf8)).isEmpty)
        #expect(parser.hasPartialEvent)
        #expect(parser.feed(Array("\n\n".utf8)) == [ServerSentEvent(data: "x")])
        #expect(!parser.hasPartialEvent)
    }

    @Test func aBlankLineWithoutDataDispatchesNothing() {
        var parser = ServerSentEventParser()
        #expect(parser.feed(Array("event: ping\n\n\n".utf8)).isEmpty)
    }
}
