/// Who sent a message (DESIGN §3): every body carries it.
public struct Sender: Codable, Sendable, Hashable {
    public var pod: String
    public var role: String
    public var name: String

    public init(pod: String, role: String, name: String) {
        self.pod = pod
        self.role = role
        self.name = name
    }
}

/// The protocol version every message body carries as `"v"`.
public let protocolVersion = 1

/// A message body: the payload's own fields plus `"v"` and `"sender"`, side by side in one
/// JSON object (DESIGN §3). The payload must encode as a keyed object and must not use the
/// keys `v` or `sender`.
public struct Envelope<Payload> {
    public var v: Int
    public var sender: Sender
    public var payload: Payload

    public init(sender: Sender, payload: Payload) {
        self.v = protocolVersion
        self.sender = sender
        self.payload = payload
    }

    enum CodingKeys: String, CodingKey { case v, sender }
}

extension Envelope: Sendable where Payload: Sendable {}
extension Envelope: Equatable where Payload: Equatable {}

extension Envelope: Encodable where Payload: Encodable {
    public func encode(to encoder: any Encoder) throws {
        try payload.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(v, forKey: .v)
        try container.encode(sender, forKey: .sender)
    }
}

extension Envelope: Decodable where Payload: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        v = try container.decode(Int.self, forKey: .v)
        guard v == protocolVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .v, in: container,
                debugDescription: "unsupported protocol version \(v); this cp speaks version \(protocolVersion)")
        }
        sender = try container.decode(Sender.self, forKey: .sender)
        payload = try Payload(from: decoder)
    }
}

/// The body published on `failed.<subject>` when a handler throws or a message is malformed.
public struct FailedMessage: Codable, Sendable, Equatable {
    /// The original body as text (it may not be valid JSON).
    public var origMsg: String
    public var error: String

    public init(origMsg: String, error: String) {
        self.origMsg = origMsg
        self.error = error
    }
}

/// A payload with no fields, for messages whose subject says everything.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}
