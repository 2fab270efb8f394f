import Foundation
import Hashing
import TestSupport
import Testing

@testable import SFTPClient

/// Options that trust the test server's key and log in with its client key.
func trusted(_ server: SSHTestServer) -> SFTPOptions {
    var options = SFTPOptions(knownHosts: server.knownHostsPath)
    options.identity = server.clientKeyPath
    return options
}

func address(_ server: SSHTestServer, _ path: String = "") -> SFTPAddress {
    SFTPAddress(user: server.user, host: "127.0.0.1", port: Int(server.port), path: path)
}

func randomBytes(_ count: Int) -> [UInt8] {
    let handle = FileHandle(forReadingAtPath: "/dev/urandom")
    defer { try? handle?.close() }
    return Array(handle?.readData(ofLength: count) ?? Data())
}

@Suite(.serialized) struct SFTPTransferTests {
    @Test func aTenMegabyteRoundTripKeepsItsHash() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let original = randomBytes(10 * 1024 * 1024)
            try Data(original).write(to: URL(fileURLWithPath: scratch.file("original.bin")))
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            let remote = scratch.file("remote dir/übertragen.bin")
            try await session.makeDirectory(scratch.file("remote dir"))
            try await session.upload(scratch.file("original.bin"), to: remote)
            #expect(try SHA256Hasher.hex(ofFileAt: remote) == SHA256Hasher.hex(of: original))
            try await session.download(remote, to: scratch.file("back.bin"))
            #expect(try SHA256Hasher.hex(ofFileAt: scratch.file("back.bin")) == SHA256Hasher.hex(of: original))
            #expect(!FileManager.default.fileExists(atPath: SFTPSession.partialName(for: scratch.file("back.bin"))))
            #expect(try await session.stat(remote).size == UInt64(original.count))
        }
    }

    enum Direction: Sendable { case upload, download }

    /// Moves a random file just past the parallel threshold in `direction` and checks its hash,
    /// the final progress report and that nothing temporary is left.
    @Test(arguments: [Direction.upload, .download])
    func aLargeTransferOverSeveralSessionsKeepsItsHash(_ direction: Direction) async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let size = Int(SFTPSession.parallelThreshold) + 5 * 1024 * 1024 + 777
            let original = randomBytes(size)
            try Data(original).write(to: URL(fileURLWithPath: scratch.file("large.bin")))
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            let progress = ProgressLog()
            let report: TransferProgress = { done, _ in progress.record(done) }
            switch direction {
            case .upload:
                try await session.upload(scratch.file("large.bin"), to: scratch.file("copy.bin"), progress: report)
            case .download:
                try await session.download(scratch.file("large.bin"), to: scratch.file("copy.bin"), progress: report)
            }
            #expect(try SHA256Hasher.hex(ofFileAt: scratch.file("copy.bin")) == SHA256Hasher.hex(of: original))
            #expect(progress.values.max() == UInt64(size))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter {
                $0.contains(".cp-")
            }
            #expect(leftovers.isEmpty)
            await session.close()
        }
    }

    @Test func aKilledMultiSessionDownloadResumesEveryRange() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let size = Int(SFTPSession.parallelThreshold) + 3 * 1024 * 1024 + 99
            let original = randomBytes(size)
            try Data(original).write(to: URL(fileURLWithPath: scratch.file("large.bin")))
            let local = scratch.file("copy.bin")
            // What a download killed part-way leaves: each range half done in the partial file,
            // and the record of how far each got.
            let plan = try DownloadPlan(local: local, size: UInt64(size), resume: false, ranges: 3)
            #expect(plan.ranges.count == 3)
            var data = Data(count: size)
            var halfDone: [DownloadRange] = []
            for range in plan.ranges {
                let half = (range.end - range.start) / 2
                data.replaceSubrange(
                    Int(range.start)..<Int(range.start + half),
                    with: original[Int(range.start)..<Int(range.start + half)])
                halfDone.append(DownloadRange(start: range.start, end: range.end, done: half))
            }
            try data.write(to: URL(fileURLWithPath: plan.partial))
            try DownloadPlan.encode(halfDone).write(toFile: plan.record, atomically: true, encoding: .utf8)
            let kept = halfDone.reduce(0) { $0 + Int($1.done) }
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            let progress = ProgressLog()
            try await session.download(scratch.file("large.bin"), to: local, resume: true) { done, _ in
                progress.record(done)
            }
            #expect(try SHA256Hasher.hex(ofFileAt: local) == SHA256Hasher.hex(of: original))
            #expect((progress.values.min() ?? 0) >= UInt64(kept), "a range started over")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter {
                $0.contains(".cp-")
            }
            #expect(leftovers.isEmpty)
            await session.close()
        }
    }

    @Test func emptyFilesAndOddNamesTravel() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            try scratch.write("empty", "")
            try scratch.write("a name with spaces – ünïcode.txt", "text\n")
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            try await session.makeDirectory(scratch.file("out"))
            try await session.upload(scratch.file("empty"), to: scratch.file("out/empty"))
            try await session.upload(
                scratch.file("a name with spaces – ünïcode.txt"),
                to: scratch.file("out/a name with spaces – ünïcode.txt"))
            let names = try await session.list(scratch.file("out")).map(\.name)
            #expect(names == ["a name with spaces – ünïcode.txt", "empty"])
            try await session.download(scratch.file("out/empty"), to: scratch.file("empty-back"))
            #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.file("empty-back"))).isEmpty)
        }
    }

    @Test func anUploadReplacesTheTargetAndPreservesModeAndTime() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let source = try scratch.write("tool.sh", "#!/bin/sh\necho new\n")
            chmod(source, 0o751)
            var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
            utimensat(AT_FDCWD, source, &times, 0)
            let target = try scratch.write("installed.sh", "old contents\n")
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            try await session.upload(source, to: target, preserve: true)
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "#!/bin/sh\necho new\n")
            let attributes = try await session.stat(target)
            #expect(attributes.permissions & 0o777 == 0o751)
            #expect(attributes.modified == 1_000_000_000)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter {
                $0.contains(".cp-")
            }
            #expect(leftovers.isEmpty)
        }
    }

    @Test func resumeContinuesAPartialDownload() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let content = randomBytes(3 * 1024 * 1024 + 123)
            try Data(content).write(to: URL(fileURLWithPath: scratch.file("big.bin")))
            let local = scratch.file("copy.bin")
            try Data(content.prefix(1_500_000)).write(to: URL(fileURLWithPath: SFTPSession.partialName(for: local)))
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            let first = ProgressLog()
            try await session.download(scratch.file("big.bin"), to: local, resume: true) { done, _ in first.record(done)
            }
            #expect(try SHA256Hasher.hex(ofFileAt: local) == SHA256Hasher.hex(of: content))
            #expect(first.values.first.map { $0 >= 1_500_000 } == true, "the resumed download started over")
        }
    }

    @Test func aDroppedConnectionLeavesNoTarget() async throws {
        try await withSSHServer { server in
            let scratch = try TemporaryDirectory()
            let size = 256 * 1024 * 1024
            let big = scratch.file("big.bin")
            #expect(FileManager.default.createFile(atPath: big, contents: nil))
            #expect(truncate(big, off_t(size)) == 0)
            let session = try await SFTPSession.connect(address(server), options: trusted(server))
            let local = scratch.file("never.bin")
            let halfway = ProgressLog()
            let download = Task {
                try await session.download(big, to: local) { done, _ in halfway.record(done) }
            }
            try await waitUntil(deadline: .seconds(60), "the download is under way") { halfway.latest > 1024 * 1024 }
            try await server.kill9()
            let result = await download.result
            #expect(throws: SFTPError.self) { try result.get() }
            #expect(!FileManager.default.fileExists(atPath: local))
            // The partial file and its record of each range's progress stay, for --resume.
            let plan = try DownloadPlan(local: local, size: UInt64(size), resume: true, ranges: 3)
            let kept = plan.ranges.reduce(0) { $0 + $1.done }
            #expect(plan.ranges.count == 3)
            #expect(kept > 0 && kept < UInt64(size))
        }
    }
}

/// Progress values recorded from the session's thread.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [UInt64] = []

    func record(_ value: UInt64) { lock.withLock { recorded.append(value) } }
    var values: [UInt64] { lock.withLock { recorded } }
    var latest: UInt64 { lock.withLock { recorded.last ?? 0 } }
}
