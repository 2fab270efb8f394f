import Foundation

/// A network endpoint given as `HOST:PORT`.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A checked value of an option or positional argument.
public enum OptionValue: Sendable, Hashable, CustomStringConvertible {
    case flag
    case string(String)
    case integer(Int)
    case duration(Duration)
    case hostPort(HostPort)
    case url(String)
    case path(String)

    public var description: String {
        switch self {
        case .flag: return "true"
        case .string(let text), .url(let text), .path(let text): return text
        case .integer(let number): return String(number)
        case .duration(let duration): return Self.format(duration)
        case .hostPort(let endpoint): return endpoint.description
        }
    }

    /// The value as text (string, URL, path, choice); nil for other kinds.
    public var text: String? {
        switch self {
        case .string(let text), .url(let text), .path(let text): return text
        default: return nil
        }
    }

    public var integer: Int? {
        if case .integer(let number) = self { return number }
        return nil
    }

    public var duration: Duration? {
        if case .duration(let duration) = self { return duration }
        return nil
    }

    public var hostPort: HostPort? {
        if case .hostPort(let endpoint) = self { return endpoint }
        return nil
    }

    /// A duration in the units it was most likely written in: `200ms`, `2s`, `1m30s`.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds % 1000 != 0 || milliseconds == 0 { return "\(milliseconds)ms" }
        var rest = milliseconds / 1000
        var text = ""
        for (unit, size) in [("h", Int64(3600)), ("m", 60)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return rest > 0 || text.isEmpty ? text + "\(rest)s" : text
    }
}
