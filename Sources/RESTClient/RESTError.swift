/// What can go wrong talking REST to a MajorDomo. `description` is one line for
/// `cp: <role>: …`.
public enum RESTError: Error, Equatable, CustomStringConvertible {
    /// Nothing listens at the socket or URL.
    case unreachable(endpoint: String)
    /// The server answered with a status other than 2xx; `message` is its
    /// `{"error": {"message"}}` text, or the body's start when it has none.
    case http(status: Int, message: String)
    /// The request took longer than its timeout.
    case timeout(endpoint: String, seconds: Double)
    /// libcurl failed otherwise: the call, curl's code and its error buffer.
    case curl(String, code: Int, message: String)
    /// A body could not be encoded or a reply decoded.
    case body(String)
    /// An event stream ended in the middle of an event.
    case streamInterrupted(path: String)

    public var description: String {
        switch self {
        case .unreachable(let endpoint):
            return "no MajorDomo at \(endpoint) — start one with 'cp majordomo serve' or 'cp up'"
        case .http(let status, let message): return "the MajorDomo answered \(status): \(message)"
        case .timeout(let endpoint, let seconds):
            return "no answer from \(endpoint) within \(seconds.formatted()) s"
        case .curl(let call, let code, let message): return "\(call): \(message) (curl error \(code))"
        case .body(let reason): return reason
        case .streamInterrupted(let path): return "the event stream '\(path)' ended in the middle of an event"
        }
    }
}

extension Double {
    /// `0.5`, `2`, `30`: no trailing zeros.
    fileprivate func formatted() -> String {
        self == rounded() ? String(Int(self)) : String(self)
    }
}
