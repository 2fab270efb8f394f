import Foundation
import Hashing
import NATSClient
import RESTClient
import SFTPClient
import Testing

@Suite struct LinkedLibraryTests {
    @Test func eachCLibraryReportsItsVersion() {
        #expect(NATSLibrary.version.hasPrefix("3."))
        #expect(SSHLibrary.version.hasPrefix("0."))
        #expect(CurlLibrary.version.hasPrefix("libcurl/"))
        #expect(OpenSSLLibrary.version.hasPrefix("OpenSSL 3"))
    }
}

@Suite struct SHA256Tests {
    @Test func knownVectors() throws {
        #expect(
            try SHA256Hasher.hex(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            try SHA256Hasher.hex(of: Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(try SHA256Hasher.hex(of: long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func aFileLargerThanOneBufferHashesLikeItsBytes() throws {
        let path = NSTemporaryDirectory() + "/cp-sha-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        let bytes = (0..<(3 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try SHA256Hasher.hex(ofFileAt: path) == SHA256Hasher.hex(of: bytes))
    }

    @Test func aFileInAnOpenDirectoryHashesLikeItsPath() throws {
        let directory = NSTemporaryDirectory() + "/cp-sha-dir-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = Array("relative to its directory\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/f"))
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        let hasher = try FileHasher()
        let result = try hasher.hash(in: descriptor, "f", describedAs: directory + "/f")
        #expect(result.digest.hex == (try SHA256Hasher.hex(of: bytes)))
        #expect(result.after.size == UInt64(bytes.count) && !result.changedWhileRead)
        #expect(throws: HashingError.file(path: directory + "/missing", call: "open", errno: ENOENT)) {
            try hasher.hash(in: descriptor, "missing", describedAs: directory + "/missing")
        }
    }

    /// A FIFO where a file was is refused at once: opening it to read would wait for a writer.
    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let path = NSTemporaryDirectory() + "/cp-sha-fifo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        #expect(throws: HashingError.file(path: path, call: "open", errno: EINVAL)) {
            try FileHasher().hash(path)
        }
    }

    @Test func aMissingFileNamesThePathAndCall() {
        #expect(throws: HashingError.file(path: "/nonexistent/x", call: "open", errno: ENOENT)) {
            try SHA256Hasher.hex(ofFileAt: "/nonexistent/x")
        }
    }
}
