import CNATS

/// What can go wrong talking to NATS. `description` is one line for `cp: <role>: …`.
public enum NATSError: Error, Equatable, CustomStringConvertible {
    /// A libnats call failed: the call, libnats' status text and its detail.
    case call(String, status: String, detail: String)
    /// No server of the list could be reached.
    case cannotConnect(urls: [String], reason: String)
    /// A request got no reply within the timeout.
    case timeout(subject: String)
    /// Nobody subscribes to the subject a request was sent to.
    case noResponders(subject: String)
    /// The buffer that holds publishes while reconnecting is full: the message was not sent.
    case reconnectBufferFull(subject: String)
    /// The connection is closed or draining.
    case closed
    /// A message body could not be decoded.
    case malformed(subject: String, reason: String)

    public var description: String {
        switch self {
        case .call(let call, let status, let detail):
            return detail.isEmpty || detail == status ? "\(call): \(status)" : "\(call): \(status) (\(detail))"
        case .cannotConnect(let urls, let reason):
            return "cannot connect to NATS at \(urls.joined(separator: ", ")): \(reason)"
        case .timeout(let subject): return "no reply on '\(subject)' in time"
        case .noResponders(let subject): return "nobody answers requests on '\(subject)'"
        case .reconnectBufferFull(let subject):
            return "cannot publish on '\(subject)': disconnected from NATS and the reconnect buffer is full"
        case .closed: return "the NATS connection is closed"
        case .malformed(let subject, let reason): return "malformed message on '\(subject)': \(reason)"
        }
    }

    /// Throws `.call` for any status but `NATS_OK`, with libnats' last error detail.
    static func check(_ status: natsStatus, _ call: @autoclosure () -> String) throws(NATSError) {
        guard status != NATS_OK else { return }
        throw error(status, call())
    }

    static func error(_ status: natsStatus, _ call: String) -> NATSError {
        let text = natsStatus_GetText(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
        var lastStatus = NATS_OK
        let detail = nats_GetLastError(&lastStatus).map { String(cString: $0) } ?? ""
        return .call(call, status: text, detail: lastStatus == status ? detail : "")
    }
}
