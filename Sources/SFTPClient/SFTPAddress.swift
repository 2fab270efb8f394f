/// A remote path as written on the command line: `[USER@]HOST[:PORT]:PATH`, as scp writes
/// it with an optional port; `[::1]` for IPv6 hosts.
public struct SFTPAddress: Sendable, Equatable {
    public var user: String?
    public var host: String
    public var port: Int
    /// The remote path; empty means the login directory.
    public var path: String

    public init(user: String? = nil, host: String, port: Int = 22, path: String) {
        self.user = user
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `text`; nil if it names no host (it is then a local path).
    public static func parse(_ text: String) throws(SFTPError) -> SFTPAddress {
        var rest = Substring(text)
        var user: String?
        if let at = rest.firstIndex(of: "@"), !rest[..<at].contains(":"), !rest[..<at].contains("/") {
            user = String(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        let host: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw .badAddress(text, reason: "no ']' after the IPv6 host")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
        } else {
            guard let colon = rest.firstIndex(of: ":") else {
                throw .badAddress(text, reason: "expected [USER@]HOST[:PORT]:PATH")
            }
            host = rest[..<colon]
            rest = rest[colon...]
        }
        guard !host.isEmpty, rest.hasPrefix(":") else {
            throw .badAddress(text, reason: "expected [USER@]HOST[:PORT]:PATH")
        }
        rest = rest.dropFirst()
        var port = 22
        if let colon = rest.firstIndex(of: ":"), let number = Int(rest[..<colon]) {
            guard (1...65535).contains(number) else {
                throw .badAddress(text, reason: "port \(number) is not in 1…65535")
            }
            port = number
            rest = rest[rest.index(after: colon)...]
        }
        if user?.isEmpty == true { throw .badAddress(text, reason: "empty user name") }
        return SFTPAddress(user: user, host: String(host), port: port, path: String(rest))
    }

    /// How known_hosts names this host: `host`, or `[host]:port` off port 22.
    public var knownHostsName: String { port == 22 ? host : "[\(host)]:\(port)" }

    /// Whether `text` is written as a remote address (has a `:` before any `/`).
    public static func looksRemote(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        return !text[..<colon].contains("/")
    }
}
