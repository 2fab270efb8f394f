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

    @Test func aMissingFileNamesThePathAndCall() {
        #expect(throws: HashingError.file(path: "/nonexistent/x", call: "open", errno: ENOENT)) {
            try SHA256Hasher.hex(ofFileAt: "/nonexistent/x")
        }
    }
}
