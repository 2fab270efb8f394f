import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A port on 127.0.0.1 that was free a moment ago: bind port 0, read the port, close.
/// Another process can take it before the caller binds it, so callers retry on failure.
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestServerError.systemCall(call: "socket", errno: errno) }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else { throw TestServerError.systemCall(call: "bind(127.0.0.1:0)", errno: errno) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestServerError.systemCall(call: "getsockname", errno: errno) }
    return UInt16(bigEndian: address.sin_port)
}

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

/// Opens a TCP connection to 127.0.0.1:`port` and runs `body` with it on a dedicated thread
/// (the client's calls block), closing the connection afterwards.
/// - Parameter deadline: budget for connecting and for every read in `body`.
public func withTCPLineClient<T: Sendable>(
    port: UInt16, deadline: Duration = .seconds(10),
    _ body: @escaping @Sendable (TCPLineClient) throws -> T
) async throws -> T {
    try await runOnDedicatedThread("TestSupport.tcp") {
        let client = try TCPLineClient(port: port, deadline: ContinuousClock.now + deadline)
        defer { client.close() }
        return try body(client)
    }
}

/// A minimal blocking line-oriented TCP client for protocol handshakes in tests
/// (e.g. NATS `INFO` / `CONNECT` / `PING`). Its methods block: use it only inside
/// `withTCPLineClient`, which runs it off the cooperative pool.
public final class TCPLineClient: @unchecked Sendable {
    private var fd: Int32
    private var buffer: [UInt8] = []
    /// Every connect and read gives up at this instant.
    public let deadline: ContinuousClock.Instant

    init(port: UInt16, deadline: ContinuousClock.Instant) throws {
        self.deadline = deadline
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError.systemCall(call: "socket", errno: errno) }
        do {
            try connect(port: port)
        } catch {
            close()
            throw error
        }
    }

    /// On Linux, SO_SNDTIMEO also bounds a blocking connect.
    private func connect(port: UInt16) throws {
        try setTimeout(SO_SNDTIMEO)
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result != 0 else { return }
        let code = errno
        if code == EINPROGRESS || code == EAGAIN {
            throw TestServerError.timeout(what: "TCP connect to 127.0.0.1:\(port)", logTail: "")
        }
        throw TestServerError.systemCall(call: "connect(127.0.0.1:\(port))", errno: code)
    }

    /// Sets a socket timeout to the time left until `deadline` (at least 1 ms).
    private func setTimeout(_ option: Int32) throws {
        let left = max(deadline - ContinuousClock.now, .milliseconds(1)).components
        var value = timeval(
            tv_sec: Int(left.seconds),
            tv_usec: max(Int(left.attoseconds / 1_000_000_000_000), left.seconds == 0 ? 1000 : 0))
        guard setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            throw TestServerError.systemCall(call: "setsockopt", errno: errno)
        }
    }

    /// Sends all of `text`.
    public func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            try setTimeout(SO_SNDTIMEO)
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw TestServerError.systemCall(call: "send", errno: errno) }
            sent += count
        }
    }

    /// Reads one line and returns it without its `\r\n` or `\n` terminator.
    /// - Throws: `.timeout` at the deadline, `.connectionClosed` at end of stream.
    public func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            try receiveMore()
        }
    }

    private func receiveMore() throws {
        guard ContinuousClock.now < deadline else {
            throw TestServerError.timeout(what: "a line from the server", logTail: partialLine)
        }
        try setTimeout(SO_RCVTIMEO)
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[..<count])
        } else if count == 0 {
            throw TestServerError.connectionClosed(what: "reading a line (got: \(partialLine))")
        } else if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
            throw TestServerError.systemCall(call: "recv", errno: errno)
        }
    }

    private var partialLine: String { String(decoding: buffer, as: UTF8.self) }

    /// Closes the socket. Safe to call more than once.
    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

/// Polls `condition` every `interval` until it returns true.
/// - Parameters:
///   - deadline: how long from now to keep trying.
///   - interval: pause between polls, capped at 20 ms so waits end promptly.
///   - what: described in the timeout error ("timed out waiting for <what>").
/// - Throws: `TestServerError.timeout`, or `CancellationError` if the task is cancelled.
public func waitUntil(
    deadline: Duration = .seconds(10), interval: Duration = .milliseconds(20),
    _ what: String = "condition",
    isolation: isolated (any Actor)? = #isolation,
    _ condition: () async throws -> Bool
) async throws {
    let end = ContinuousClock.now + deadline
    while true {
        if try await condition() { return }
        if ContinuousClock.now >= end { throw TestServerError.timeout(what: what, logTail: "") }
        try await Task.sleep(for: min(interval, .milliseconds(20)))
    }
}
