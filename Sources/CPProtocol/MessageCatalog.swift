import Foundation

/// One kind of message of DESIGN §3: its subject as `docs/nats.md` writes it, and its body's
/// type. The catalog is what the documentation is checked against, and what a fuzzer walks.
public struct MessageKind: Sendable {
    /// The subject pattern, placeholders in angle brackets (`build.results.<jobId>`); a reply
    /// to a request is the request's subject followed by ` (reply)`.
    public let subject: String
    /// The Swift type of the body (besides `v` and `sender`).
    public let typeName: String
    /// Decodes a whole body (envelope included) as this kind and encodes it again.
    public let roundTrip: @Sendable (Data) throws -> Data

    init<Payload: Codable & Sendable>(_ subject: String, _ type: Payload.Type) {
        self.subject = subject
        self.typeName = String(describing: type).replacingOccurrences(of: "CPProtocol.", with: "")
        self.roundTrip = { body in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(try JSONDecoder().decode(Envelope<Payload>.self, from: body))
        }
    }
}

/// Every message the roles exchange, in the order of DESIGN §3's table.
public enum MessageCatalog {
    public static let all: [MessageKind] = [
        MessageKind("heartbeat.<role>.<name>", HeartbeatPayload.self),
        MessageKind("fileChanged.<reason>.<pod>.<path>", FileChange.self),
        MessageKind("watchRequest.<pod>", WatchRequest.self),
        MessageKind("watchRequest.<pod> (reply)", WatchReply.self),
        MessageKind("register.types", RegisterType.self),
        MessageKind("register.rules", RegisterRule.self),
        MessageKind("register.tasks", RegisterTask.self),
        MessageKind("register.projects", RegisterProject.self),
        MessageKind("registered.types", Registered.self),
        MessageKind("registered.rules", Registered.self),
        MessageKind("registered.tasks", Registered.self),
        MessageKind("registered.artefacts", Registered.self),
        MessageKind("artefacts.registerTypes", Empty.self),
        MessageKind("build.howTo.<type>", HowTo.self),
        MessageKind("build.canFrom.<type>", CanFrom.self),
        MessageKind("build.from.<chefKind>", Job.self),
        MessageKind("build.results.<jobId>", JobResult.self),
        MessageKind("build.cancel.<jobId>", JobCancel.self),
        MessageKind("logger.<project>.<task>", LogLines.self),
        MessageKind("failed.<subject>", FailedMessage.self),
        MessageKind("security.getHostPublicKeys", Empty.self),
        MessageKind("security.hostPublicKeys", HostPublicKeys.self),
    ]

    /// The kind documented as `subject`, if any.
    public static func kind(_ subject: String) -> MessageKind? { all.first { $0.subject == subject } }
}
