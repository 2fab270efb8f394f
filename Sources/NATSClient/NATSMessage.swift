import CNATS

#if canImport(Glibc)
    import Glibc
#endif

/// A message received from NATS, copied out of libnats.
public struct NATSMessage: Sendable {
    public let subject: String
    /// Where a reply goes, for a request.
    public let replyTo: String?
    public let payload: [UInt8]
    /// The server's "no responders" status reply to a request.
    public let isNoResponders: Bool
    /// The message's headers (`Nats-Msg-Id`…); empty for most messages.
    public let headers: [String: String]

    public init(
        subject: String, replyTo: String? = nil, payload: [UInt8], isNoResponders: Bool = false,
        headers: [String: String] = [:]
    ) {
        self.subject = subject
        self.replyTo = replyTo
        self.payload = payload
        self.isNoResponders = isNoResponders
        self.headers = headers
    }

    /// Copies `message`; the caller still owns (and destroys) it. `subjects` reuses the
    /// subject string of the previous message when it is the same (saving an allocation per
    /// message on a busy subscription).
    init(copying message: OpaquePointer, subjects: SubjectCache? = nil) {
        subject = natsMsg_GetSubject(message).map { subjects?.string(for: $0) ?? String(cString: $0) } ?? ""
        replyTo = natsMsg_GetReply(message).map { String(cString: $0) }
        let length = Int(natsMsg_GetDataLength(message))
        if length > 0, let data = natsMsg_GetData(message) {
            payload = data.withMemoryRebound(to: UInt8.self, capacity: length) {
                Array(UnsafeBufferPointer(start: $0, count: length))
            }
        } else {
            payload = []
        }
        isNoResponders = natsMsg_IsNoResponders(message)
        headers = Self.headers(of: message)
    }

    /// Each header's first value; nothing is allocated for a message without headers.
    private static func headers(of message: OpaquePointer) -> [String: String] {
        var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
        var count: Int32 = 0
        guard natsMsgHeader_Keys(message, &keys, &count) == NATS_OK, let keys else { return [:] }
        defer { free(keys) }
        var headers: [String: String] = [:]
        for index in 0..<Int(count) {
            guard let key = keys[index] else { continue }
            var value: UnsafePointer<CChar>?
            if natsMsgHeader_Get(message, key, &value) == NATS_OK, let value {
                headers[String(cString: key)] = String(cString: value)
            }
        }
        return headers
    }

    /// The payload as text, for logs and `failed.` reports.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

/// The last subject seen by one delivery thread, as C bytes and as a Swift string.
/// Used only from that thread.
final class SubjectCache: @unchecked Sendable {
    private var bytes: [CChar] = [0]
    private var last = ""

    func string(for subject: UnsafePointer<CChar>) -> String {
        if strcmp(subject, bytes) == 0 { return last }
        last = String(cString: subject)
        bytes = Array(last.utf8CString)
        return last
    }
}
