import CPModel
import Foundation
import TestSupport
import Testing

@testable import NATSClient

/// Publishes with `messageID` until the server acknowledges it, riding out a server restart:
/// a retry after a lost acknowledgement is harmless because the id deduplicates it.
func publishUntilStored(
    _ jetStream: JetStream, _ subject: String, _ payload: [UInt8], messageID: String
) async throws -> PublishAck {
    let deadline = ContinuousClock.now + .seconds(60)
    while true {
        do {
            return try await jetStream.publish(subject, payload, messageID: messageID, timeout: .seconds(2))
        } catch {
            guard ContinuousClock.now < deadline else { throw error }
            try await waitUntil(deadline: .seconds(30), "the connection is back") { jetStream.connection.isConnected }
        }
    }
}

/// A work-queue stream `JOBS` on `jobs.>` and two subscriptions sharing the durable `chefs`
/// with a 2 s ack wait, as two Chefs of one kind would have.
func workQueue(on server: NATSTestServer) async throws -> (NATSClient, JetStream, PullConsumer, PullConsumer) {
    let client = try await connect(server)
    let jetStream = try JetStream(client.bulk)
    var config = StreamConfig(name: "JOBS", subjects: ["jobs.>"])
    config.retention = .workQueue
    try await jetStream.createOrUpdateStream(config)
    let first = try await jetStream.pullConsumer(
        stream: "JOBS", durable: "chefs", filter: "jobs.>", ackWait: .seconds(2))
    let second = try await jetStream.pullConsumer(
        stream: "JOBS", durable: "chefs", filter: "jobs.>", ackWait: .seconds(2))
    return (client, jetStream, first, second)
}

@Suite(.serialized) struct JetStreamTests {
    /// A leaf node's client reaches the hub's streams only by naming the hub's JetStream
    /// domain (PLATFORM.md); the hub keeps its leaf-node port across a restart.
    @Test func aLeafNodesClientUsesTheHubsStreamsThroughItsDomain() async throws {
        try await withNATSServer(jetStream: true, domain: "hub", hub: true) { hub in
            let leafURL = try #require(hub.leafURL)
            #expect(leafURL.hasPrefix("nats-leaf://127.0.0.1:"))
            try await withNATSServer(leafOf: [leafURL]) { leaf in
                let plain = try await connect(leaf)
                let named = try await connect(leaf) { $0.jetStreamDomain = "hub" }
                #expect(named.bulk.jetStreamAPI == "$JS.hub.API" && plain.bulk.jetStreamAPI == "$JS.API")
                // Until the leaf has joined, the hub's API does not answer there either.
                try await waitUntil(deadline: .seconds(30), "the leaf to reach the hub's JetStream") {
                    (try? await JetStream(named.bulk).createOrUpdateStream(
                        StreamConfig(name: "JOBS", subjects: ["jobs.>"])))
                        != nil
                }
                // Without it the leaf's own (absent) JetStream is asked, and nothing answers.
                await #expect(throws: NATSError.self) {
                    try await JetStream(plain.bulk).createOrUpdateStream(StreamConfig(name: "LOST", subjects: ["lost"]))
                }
                let stored = try await JetStream(named.bulk).publish("jobs.one", Array("kept".utf8))
                #expect(stored.stream == "JOBS" && stored.sequence == 1)
                let port = hub.server.leafPort
                try await hub.restart()
                #expect(hub.server.leafPort == port && hub.leafURL == leafURL)
                try await plain.drain()
                try await named.drain()
            }
        }
    }

    /// A push consumer sends in order; it outlives its subscription, and what was not
    /// acknowledged comes again to the next one bound to it.
    @Test func aPushConsumerDeliversInOrderAndOutlivesItsSubscription() async throws {
        try await withNATSServer(jetStream: true) { server in
            let client = try await connect(server)
            let jetStream = try JetStream(client.bulk)
            var config = StreamConfig(name: "EVENTS", subjects: ["events.>"])
            config.retention = .interest
            try await jetStream.createOrUpdateStream(config)
            // An ack wait no loaded machine reaches: what is acknowledged is not sent again.
            let first = try await jetStream.pushConsumer(
                stream: "EVENTS", durable: "reader", filter: "events.>", deliverSubject: "_test.reader",
                ackWait: .seconds(60))
            for index in 0..<500 { _ = try await jetStream.publish("events.e", Array("\(index)".utf8)) }
            var seen: [String] = []
            for await message in first {
                seen.append(message.text)
                if seen.count <= 300 { try message.ack() }  // the rest left unacknowledged
                if seen.count == 500 { break }
            }
            #expect(seen == (0..<500).map(String.init))
            try await client.flush()  // the acknowledgements are with the server before it closes
            first.close()
            // Bound again (as a restarted reader is): the 200 left come again, in order.
            let again = try await jetStream.pushConsumer(
                stream: "EVENTS", durable: "reader", filter: "events.>", deliverSubject: "_test.reader",
                ackWait: .seconds(2))
            var redelivered: [String] = []
            for await message in again {
                redelivered.append(message.text)
                try message.ack()
                if redelivered.count == 200 { break }
            }
            #expect(redelivered == (300..<500).map(String.init))
            again.close()
            try await client.drain()
        }
    }

    @Test func aRepeatedMessageIdIsStoredOnce() async throws {
        try await withNATSServer(jetStream: true) { server in
            let client = try await connect(server)
            let jetStream = try JetStream(client.bulk)
            try await jetStream.createOrUpdateStream(StreamConfig(name: "EVENTS", subjects: ["events.>"]))
            let first = try await jetStream.publish("events.a", [1], messageID: "pod1-1")
            let again = try await jetStream.publish("events.a", [1], messageID: "pod1-1")
            let other = try await jetStream.publish("events.a", [2], messageID: "pod1-2")
            #expect(first == PublishAck(stream: "EVENTS", sequence: 1, duplicate: false))
            #expect(again == PublishAck(stream: "EVENTS", sequence: 1, duplicate: true))
            #expect(other.sequence == 2)
            try await jetStream.createOrUpdateStream(StreamConfig(name: "EVENTS", subjects: ["events.>", "more.>"]))
        }
    }

    @Test func tenThousandMessagesAcrossAKill9ArriveExactlyOnce() async throws {
        try await withNATSServer(jetStream: true) { server in
            let client = try await connect(server)
            let jetStream = try JetStream(client.bulk)
            try await jetStream.createOrUpdateStream(StreamConfig(name: "CHANGES", subjects: ["changes.>"]))
            for index in 0..<10_000 {
                if index == 5_000 {
                    try await server.kill9()
                    try await server.restart()
                }
                _ = try await publishUntilStored(
                    jetStream, "changes.file", Array(String(index).utf8), messageID: "p-\(index)")
            }
            let consumer = try await jetStream.pullConsumer(stream: "CHANGES", durable: "reader", filter: "changes.>")
            var received: [String] = []
            let deadline = ContinuousClock.now + .seconds(120)
            while received.count < 10_000 && ContinuousClock.now < deadline {
                for message in try await consumer.fetch(batch: 500, timeout: .seconds(2)) {
                    received.append(message.text)
                    try message.ack()
                }
            }
            #expect(received == (0..<10_000).map(String.init))
            try await client.bulk.flush()
            #expect(try await consumer.fetch(batch: 10, timeout: .milliseconds(500)).isEmpty)
        }
    }

    @Test func anUnacknowledgedJobGoesToTheOtherWorkerAfterTheAckWait() async throws {
        try await withNATSServer(jetStream: true) { server in
            let (client, jetStream, first, second) = try await workQueue(on: server)
            _ = try await jetStream.publish("jobs.latex", Array("job-1".utf8), messageID: "job-1")
            let taken = try #require(try await first.fetch(timeout: .seconds(5)).first)
            #expect(taken.text == "job-1" && taken.deliveries == 1)
            #expect(try await second.fetch(timeout: .milliseconds(300)).isEmpty)  // still within the ack wait
            let redelivered = try #require(try await second.fetch(timeout: .seconds(10)).first)
            #expect(redelivered.text == "job-1")
            #expect(redelivered.deliveries == 2)
            try redelivered.ack()
            try await client.bulk.flush()
            #expect(try await first.fetch(timeout: .milliseconds(300)).isEmpty)
        }
    }

    @Test func inProgressAcknowledgementsKeepAJobWithItsWorker() async throws {
        try await withNATSServer(jetStream: true) { server in
            let (client, jetStream, worker, other) = try await workQueue(on: server)
            _ = try await jetStream.publish("jobs.long", Array("long".utf8), messageID: "long-1")
            let job = try #require(try await worker.fetch(timeout: .seconds(5)).first)
            let keepAlive = Task {
                while !Task.isCancelled {
                    try? job.inProgress()
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            let stolen = try await other.fetch(timeout: .seconds(4))  // twice the ack wait
            keepAlive.cancel()
            #expect(stolen.isEmpty, "the job was handed to another worker while in progress")
            try job.ack()
            try await client.bulk.flush()
            #expect(try await other.fetch(timeout: .milliseconds(300)).isEmpty)
        }
    }
}
