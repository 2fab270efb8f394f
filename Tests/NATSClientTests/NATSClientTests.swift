import CPModel
import CPProtocol
import Foundation
import Logging
import TestSupport
import Testing

@testable import NATSClient

let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
let testSender = Sender(pod: "test-pod", role: "test", name: "t1")

func connect(_ server: NATSTestServer, _ configure: (inout NATSOptions) -> Void = { _ in }) async throws -> NATSClient {
    var options = NATSOptions(urls: [server.url], name: "cp-test")
    configure(&options)
    return try await NATSClient.connect(options, sender: testSender, logger: quiet)
}

/// Reads `count` elements of `sequence` or fails after `deadline`.
func collect<S: AsyncSequence & Sendable>(
    _ count: Int, from sequence: S, deadline: Duration = .seconds(20)
) async throws -> [S.Element] where S.Element: Sendable {
    try await withThrowingTaskGroup(of: [S.Element]?.self) { group in
        group.addTask {
            var items: [S.Element] = []
            for try await item in sequence {
                items.append(item)
                if items.count == count { break }
            }
            return items
        }
        group.addTask {
            try await Task.sleep(for: deadline)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return try #require(first, "received fewer than \(count) messages within \(deadline)")
    }
}

@Suite(.serialized) struct NATSPublishSubscribeTests {
    @Test func publishedValuesArriveInOrderWithTheEnvelope() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let messages = try client.messages("notes", as: Note.self)
            try await client.bulk.flush()
            for index in 0..<100 { try client.publish("notes", Note(text: "n\(index)", count: index)) }
            let received = try await collect(100, from: messages)
            #expect(received.map(\.envelope.payload.count) == Array(0..<100))
            #expect(received.allSatisfy { $0.envelope.sender == testSender && $0.envelope.v == 1 })
            try await client.drain()
        }
    }

    @Test func wildcardsMatchOneTokenOrTheRest() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let star = try client.subscribe("t.*")
            let rest = try client.subscribe("t.>")
            try await client.bulk.flush()
            for subject in ["t.a", "t.a.b", "u.a", "t.b"] { try client.bulk.publish(subject, Array(subject.utf8)) }
            #expect(try await collect(2, from: star).map(\.subject) == ["t.a", "t.b"])
            #expect(try await collect(3, from: rest).map(\.subject) == ["t.a", "t.a.b", "t.b"])
            try await client.bulk.flush()
            #expect(star.buffer.count == 0)
        }
    }

    @Test func twoQueueMembersShareAThousandMessagesExactlyOnce() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let first = try client.subscribe("work", queue: "workers")
            let second = try client.subscribe("work", queue: "workers")
            try await client.bulk.flush()
            for index in 0..<1000 { try client.bulk.publish("work", Array(String(index).utf8)) }
            try await client.bulk.flush()
            try await waitUntil(deadline: .seconds(20), "all 1,000 delivered") {
                first.buffer.count + second.buffer.count == 1000
            }
            let a = try await collect(first.buffer.count, from: first).map(\.text)
            let b = try await collect(second.buffer.count, from: second).map(\.text)
            #expect(!a.isEmpty && !b.isEmpty, "one member got everything: \(a.count) / \(b.count)")
            #expect(Set(a).isDisjoint(with: b))
            #expect(Set(a + b) == Set((0..<1000).map(String.init)))
        }
    }

    @Test func aBurstOfTwoHundredThousandLosesNothing() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let subscription = try client.subscribe("burst")
            try await client.bulk.flush()
            let payload = Array(repeating: UInt8(ascii: "x"), count: 16)
            for _ in 0..<200_000 { try client.bulk.publish("burst", payload) }
            try await client.bulk.flush()
            let received = try await collect(200_000, from: subscription, deadline: .seconds(60))
            #expect(received.count == 200_000)
            #expect(subscription.dropped == 0)
        }
    }

    @Test func pastADeliberateBoundDropsAreCounted() async throws {
        try await withNATSServer { server in
            let client = try await connect(server) { $0.pendingMessageLimit = 1_000 }
            let subscription = try client.subscribe("flood")
            try await client.bulk.flush()
            for _ in 0..<20_000 { try client.bulk.publish("flood", [1, 2, 3]) }
            try await client.bulk.flush()
            try await waitUntil(deadline: .seconds(20), "every message delivered or dropped") {
                subscription.buffer.count + subscription.dropped == 20_000
            }
            #expect(subscription.dropped > 0)
            #expect(subscription.buffer.count <= 1_000)
        }
    }
}

@Suite(.serialized) struct NATSRequestReplyTests {
    struct Question: Codable, Sendable { var text: String }
    struct Answer: Codable, Sendable { var text: String }

    @Test func aRequestGetsItsReply() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let service = try client.serve("svc.upper", as: Question.self) { request in
                Answer(text: request.payload.text.uppercased())
            }
            defer { service.cancel() }
            try await client.control.flush()
            let reply = try await client.request("svc.upper", Question(text: "abc"), as: Answer.self)
            #expect(reply.payload.text == "ABC")
            #expect(reply.sender == testSender)
            async let many = withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await client.request("svc.upper", Question(text: "q\(index)"), as: Answer.self).payload.text
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(try await many == Set((0..<200).map { "Q\($0)" }))
        }
    }

    @Test func aSlowResponderTimesOutAndNobodyMeansNoResponders() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let service = try client.serve("svc.slow", as: Question.self) { _ in
                try await Task.sleep(for: .seconds(5))
                return Answer(text: "late")
            }
            defer { service.cancel() }
            try await client.control.flush()
            await #expect(throws: NATSError.timeout(subject: "svc.slow")) {
                try await client.request("svc.slow", Question(text: "x"), as: Answer.self, timeout: .milliseconds(200))
            }
            await #expect(throws: NATSError.noResponders(subject: "svc.nobody")) {
                try await client.request("svc.nobody", Question(text: "x"), as: Answer.self)
            }
        }
    }

    @Test func aThrowingHandlerAnswersWithTheErrorAndReportsOnFailed() async throws {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused on purpose" } }
        try await withNATSServer { server in
            let client = try await connect(server)
            let failures = try client.messages("failed.>", as: FailedMessage.self)
            let service = try client.serve("svc.fail", as: Question.self) { _ -> Answer in throw Refused() }
            defer { service.cancel() }
            try await client.flush()
            do {
                _ = try await client.request("svc.fail", Question(text: "x"), as: Answer.self)
                Issue.record("the request succeeded")
            } catch {
                #expect("\(error)" == "request on 'svc.fail': the responder failed (refused on purpose)")
            }
            let failure = try #require(try await collect(1, from: failures).first)
            #expect(failure.message.subject == "failed.svc.fail")
            #expect(failure.envelope.payload.error == "refused on purpose")
            #expect(failure.envelope.payload.origMsg.contains(#""text":"x""#))
        }
    }

    @Test func malformedJSONIsReportedAndSkipped() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let notes = try client.messages("notes", as: Note.self)
            let failures = try client.messages("failed.notes", as: FailedMessage.self)
            try await client.bulk.flush()
            try client.bulk.publish("notes", Array("{not json".utf8))
            try client.bulk.publish(
                "notes", Array(#"{"v":1,"sender":{"pod":"p","role":"r","name":"n"},"text":1}"#.utf8))
            try client.publish("notes", Note(text: "good", count: 1))
            let good = try await collect(1, from: notes)
            #expect(good.first?.envelope.payload.text == "good")
            let reports = try await collect(2, from: failures).map(\.envelope.payload)
            #expect(reports[0].origMsg == "{not json")
            #expect(reports[0].error.hasPrefix("malformed message on 'notes': "))
            #expect(reports[1].error == "malformed message on 'notes': 'text' is not a string")
        }
    }
}

@Suite(.serialized) struct NATSReconnectTests {
    @Test func publishesMadeWhileTheServerIsDownArriveAfterItReturns() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let subscription = try client.subscribe("kept")
            try await client.bulk.flush()
            for index in 0..<50 { try client.bulk.publish("kept", Array("a\(index)".utf8)) }
            try await client.bulk.flush()
            try await server.stop()
            try await waitUntil(deadline: .seconds(20), "the client notices the server is gone") {
                !client.bulk.isConnected
            }
            for index in 0..<50 { try client.bulk.publish("kept", Array("b\(index)".utf8)) }
            try await server.restart()
            try await waitUntil(deadline: .seconds(20), "the client reconnects") { client.bulk.isConnected }
            try await client.bulk.flush()
            let received = try await collect(100, from: subscription).map(\.text)
            #expect(received == (0..<50).map { "a\($0)" } + (0..<50).map { "b\($0)" })
            #expect(client.bulk.reconnects == 1)
        }
    }

    @Test func aFullReconnectBufferIsAnErrorNotASilentDrop() async throws {
        try await withNATSServer { server in
            let client = try await connect(server) { $0.reconnectBufferBytes = 8 * 1024 }
            try await server.stop()
            try await waitUntil(deadline: .seconds(20), "the client notices the server is gone") {
                !client.bulk.isConnected
            }
            let payload = [UInt8](repeating: 7, count: 1024)
            var sent = 0
            do {
                for _ in 0..<100 {
                    try client.bulk.publish("overflow", payload)
                    sent += 1
                }
                Issue.record("100 KiB fit in an 8 KiB reconnect buffer")
            } catch {
                #expect(error as? NATSError == .reconnectBufferFull(subject: "overflow"))
                #expect((1...8).contains(sent), "sent \(sent) KiB into an 8 KiB buffer")
            }
        }
    }
}

@Suite(.serialized) struct NATSDrainTests {
    @Test func drainDeliversWhatIsInFlightThenEndsTheSequences() async throws {
        try await withNATSServer { server in
            let client = try await connect(server)
            let subscription = try client.subscribe("drained")
            try await client.bulk.flush()
            for index in 0..<1_000 { try client.bulk.publish("drained", Array(String(index).utf8)) }
            try await client.drain()
            var received: [String] = []
            for await message in subscription { received.append(message.text) }  // ends: drained
            #expect(received == (0..<1_000).map(String.init))
            #expect(throws: NATSError.closed) { try client.bulk.publish("drained", [1]) }
        }
    }
}

/// A small payload for the tests.
struct Note: Codable, Sendable, Equatable {
    var text: String
    var count: Int
}
