import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Waits until `pid` no longer exists (kill(pid, 0) fails with ESRCH) and checks that it
/// is not left as our zombie either (waitpid reports ECHILD).
func expectProcessGone(_ pid: pid_t, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    try await waitUntil(deadline: .seconds(10), "pid \(pid) to disappear") {
        kill(pid, 0) == -1 && errno == ESRCH
    }
    var status: Int32 = 0
    let result = waitpid(pid, &status, WNOHANG)
    let code = errno
    #expect(result == -1 && code == ECHILD, "pid \(pid) should already be reaped", sourceLocation: sourceLocation)
    #expect(!ChildProcess.unreapedPids.contains(pid), sourceLocation: sourceLocation)
}

func directoryExists(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
}

/// An error thrown on purpose by test bodies.
struct DeliberateFailure: Error, Equatable {}

/// A listening socket on 127.0.0.1 that never accepts: connections complete (the kernel
/// queues them) but nothing is ever read or written. Port 0 picks a free port.
func makeLoopbackListener(port: UInt16 = 0) throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    // Connections closed earlier may leave TIME_WAIT entries on the port.
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ready = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    if !ready { close(fd) }
    try #require(ready, "could not listen on 127.0.0.1:\(port): errno \(errno)")
    return (fd, UInt16(bigEndian: address.sin_port))
}
