import CPModel
import CPProtocol
import FSWatcher
import Foundation
import Logging
import NATSClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `cp watch` as users run it: a child process on a real tree, with and without NATS.
@Suite(.serialized) struct WatchEndToEndTests {
    /// Starts `cp watch ARGUMENTS` with stdout and stderr in files, and waits until its
    /// watches are established.
    static func startWatch(_ arguments: [String], scratch: TemporaryDirectory) async throws -> ChildProcess {
        let watch = try await ChildProcess.spawn(
            cpBinary, ["watch"] + arguments, stdoutPath: scratch.file("out"), stderrPath: scratch.file("err"))
        try await waitUntil(deadline: .seconds(30), "cp watch to establish its watches") {
            readTail(of: scratch.file("err"), maxBytes: 65_536).contains("watches established")
        }
        return watch
    }

    static func lines(_ path: String) -> [FileChange] {
        readTail(of: path, maxBytes: 1 << 20).split(separator: "\n").compactMap {
            try? JSONDecoder().decode(FileChange.self, from: Data($0.utf8))
        }
    }

    @Test func printWritesJSONLinesAndSIGTERMExits130() async throws {
        let scratch = try TemporaryDirectory()
        let tree = try TemporaryDirectory()
        let watch = try await Self.startWatch(["--print", "--settle", "50ms", tree.path], scratch: scratch)
        _ = try tree.write("notes.txt", "hello")
        try await waitUntil(deadline: .seconds(20), "the change on stdout") {
            Self.lines(scratch.file("out")).contains { $0.path == "notes.txt" }
        }
        let change = try #require(Self.lines(scratch.file("out")).first { $0.path == "notes.txt" })
        #expect(change.root == tree.path && change.exists && change.size == 5)
        #expect(change.sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")  // "hello"
        watch.send(signal: SIGTERM)
        #expect(try await watch.waitForExit() == .exited(130))
        // Every line of stdout is a change: logs went to stderr.
        let stdout = readTail(of: scratch.file("out"), maxBytes: 1 << 20)
        #expect(stdout.split(separator: "\n").count == Self.lines(scratch.file("out")).count)
    }

    @Test func aRootThatIsNotThereIsOneLineAndExit1() async throws {
        let scratch = try TemporaryDirectory()
        let result = try await cp(["watch", "--print", scratch.file("missing")])
        #expect(result.status == 1)
        #expect(result.stderr == "cp: watch: cannot watch '\(scratch.file("missing"))': no such directory\n")
    }

    /// Changes go to NATS as fileChanged.<reason>.<pod>.<escaped path>; watchRequest adds a
    /// root, one inside `--allow` only.
    @Test func changesArePublishedAndWatchRequestsAddRoots() async throws {
        try await withNATSServer { server in
            let scratch = try TemporaryDirectory()
            let tree = try TemporaryDirectory()
            let second = try TemporaryDirectory()
            let client = try await Self.connect(server)
            let subscription = try client.subscribe("fileChanged.>")
            try await client.flush()
            let watch = try await Self.startWatch(
                [
                    "--nats-url", server.url, "--pod", "pod.one", "--settle", "50ms", "--allow", second.path, tree.path,
                ], scratch: scratch)
            // Written in place: an atomic write's temporary file, seen by the watcher on a loaded
            // machine (it lived past the settle time), makes the final file's event a move.
            try FileManager.default.createDirectory(atPath: tree.file("sub dir"), withIntermediateDirectories: true)
            try "content".write(toFile: tree.file("sub dir/a b.tex"), atomically: false, encoding: .utf8)
            var iterator = subscription.makeAsyncIterator()
            var received: [NATSMessage] = []
            while !received.contains(where: { $0.subject.hasSuffix("a%20b%2Etex") }) {
                guard let message = await iterator.next() else { break }
                received.append(message)
            }
            let message = try #require(received.last)
            #expect(message.subject == "fileChanged.created.pod%2Eone.sub%20dir.a%20b%2Etex")
            let body = try JSONDecoder().decode(Envelope<FileChange>.self, from: Data(message.text.utf8))
            #expect(body.sender == Sender(pod: "pod.one", role: "watch", name: "pod.one"))
            #expect(body.payload.path == "sub dir/a b.tex" && body.payload.root == tree.path)
            let reply = try await client.request(
                "watchRequest.pod%2Eone", WatchRequestBody(root: second.path), as: WatchReplyBody.self)
            #expect(reply.payload.watching)
            _ = try second.write("other.txt", "x")
            var fromSecond: FileChange?
            while fromSecond == nil, let next = await iterator.next() {
                let change = try JSONDecoder().decode(Envelope<FileChange>.self, from: Data(next.text.utf8)).payload
                if change.root == second.path { fromSecond = change }
            }
            #expect(fromSecond?.path == "other.txt")
            // Outside --allow (the root of everything, or a way out through a link): refused.
            try FileManager.default.createSymbolicLink(atPath: second.file("out"), withDestinationPath: "/")
            for hostile in [
                "/", second.path + "/out/etc", second.path + "/../" + (scratch.path as NSString).lastPathComponent,
            ] {
                let error = await #expect(throws: NATSError.self) {
                    _ = try await client.request(
                        "watchRequest.pod%2Eone", WatchRequestBody(root: hostile), as: WatchReplyBody.self)
                }
                #expect(
                    "\(String(describing: error))".contains("is outside the directories"),
                    "\(hostile): \(String(describing: error))")
            }
            watch.send(signal: SIGINT)
            #expect(try await watch.waitForExit() == .exited(130))
            try await client.drain()
        }
    }

    /// Every change carries a `Nats-Msg-Id` of its own, so a stream that captures
    /// `fileChanged.>` stores a re-sent change once.
    @Test func everyChangeCarriesAMessageIdThatAStreamStoresOnce() async throws {
        try await withNATSServer(jetStream: true) { server in
            let scratch = try TemporaryDirectory()
            let tree = try TemporaryDirectory()
            let client = try await Self.connect(server)
            let jetStream = try JetStream(client.bulk)
            try await jetStream.createOrUpdateStream(StreamConfig(name: "FILES", subjects: ["fileChanged.>"]))
            let subscription = try client.subscribe("fileChanged.>")
            try await client.flush()
            let watch = try await Self.startWatch(
                ["--nats-url", server.url, "--pod", "pod.one", "--settle", "50ms", tree.path], scratch: scratch)
            _ = try tree.write("a.txt", "a")
            _ = try tree.write("b.txt", "b")
            var received: [NATSMessage] = []
            for await message in subscription {
                received.append(message)
                if received.count == 2 { break }
            }
            let ids = received.compactMap { $0.headers["Nats-Msg-Id"] }
            #expect(ids.count == 2 && Set(ids).count == 2, "\(received.map(\.headers))")
            #expect(ids.allSatisfy { $0.hasPrefix("pod.one:") })
            // Sent again with its id, a change is a duplicate: the stream keeps one copy.
            let again = try await jetStream.publish(received[0].subject, received[0].payload, messageID: ids[0])
            #expect(again.duplicate && again.stream == "FILES")
            watch.send(signal: SIGINT)
            #expect(try await watch.waitForExit() == .exited(130))
            try await client.drain()
        }
    }

    /// A client of the test's own, quiet.
    static func connect(_ server: NATSTestServer) async throws -> NATSClient {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return try await NATSClient.connect(
            NATSOptions(urls: [server.url], name: "test"), sender: Sender(pod: "t", role: "test", name: "t"),
            logger: logger)
    }

    struct WatchRequestBody: Codable, Sendable { var root: String }
    struct WatchReplyBody: Codable, Sendable {
        var root: String
        var watching: Bool
    }
}

extension WatchEndToEndTests {
    /// Without a NATS server it says so at once, before crawling anything.
    @Test func noNATSServerIsOneLineAndExit1() async throws {
        let tree = try TemporaryDirectory()
        let port = try freeLoopbackPort()
        let result = try await cp(["watch", "--nats-url", "nats://127.0.0.1:\(port)", tree.path])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("cp: watch: "), "\(result.stderr)")
        #expect(!result.stderr.contains("watches established"))
    }
}
