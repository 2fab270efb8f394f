/// One Server-Sent Event: its type (`event:`), its data lines joined by newlines, its id.
public struct ServerSentEvent: Sendable, Equatable {
    public var event: String
    public var data: String
    public var id: String?

    public init(event: String = "message", data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// The text/event-stream parser (WHATWG HTML §9.2): bytes in, complete events out. Pure, so
/// the framing rules are unit-tested without a server.
public struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var data: [String] = []
    private var event = ""
    private var id: String?
    private var lastByteWasCR = false

    public init() {}

    /// Whether an event has begun (a field line arrived) and not yet ended with a blank line.
    public var hasPartialEvent: Bool { !data.isEmpty || !event.isEmpty || !line.isEmpty }

    /// Feeds bytes; returns the events they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastByteWasCR {  // the second half of CRLF
                lastByteWasCR = false
                continue
            }
            lastByteWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else { return dispatch() }
        if line.first == UInt8(ascii: ":") { return nil }  // a comment
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let field = String(decoding: line[..<colon], as: UTF8.self)
        var value = line[colon...].dropFirst()
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        let text = String(decoding: value, as: UTF8.self)
        switch field {
        case "data": data.append(text)
        case "event": event = text
        case "id": id = text
        default: break  // retry and unknown fields are ignored
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data = []
            event = ""
        }
        guard !data.isEmpty else { return nil }
        return ServerSentEvent(event: event.isEmpty ? "message" : event, data: data.joined(separator: "\n"), id: id)
    }
}
