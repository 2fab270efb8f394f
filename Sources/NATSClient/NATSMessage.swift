import CNATS

/// A message received from NATS, copied out of libnats.
public struct NATSMessage: Sendable {
    public let subject: String
    /// Where a reply goes, for a request.
    public let replyTo: String?
    public let payload: [UInt8]
    /// The server's "no responders" status reply to a request.
    public let isNoResponders: Bool

    public init(subject: String, replyTo: String? = nil, payload: [UInt8], isNoResponders: Bool = false) {
        self.subject = subject
        self.replyTo = replyTo
        self.payload = payload
        self.isNoResponders = isNoResponders
    }

    /// Copies `message`; the caller still owns (and destroys) it.
    init(copying message: OpaquePointer) {
        subject = natsMsg_GetSubject(message).map { String(cString: $0) } ?? ""
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
    }

    /// The payload as text, for logs and `failed.` reports.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}
