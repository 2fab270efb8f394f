import CNATS
import CPModel

/// A JetStream stream's shape (DESIGN §3: state-changing messages are captured in a file
/// stream; jobs go through a work queue).
public struct StreamConfig: Sendable {
    /// `limits`: kept until the stream's limits; `workQueue`: until one consumer acks it;
    /// `interest`: until every consumer acks it (kept while one is away).
    public enum Retention: Sendable { case limits, workQueue, interest }
    public enum Storage: Sendable { case file, memory }

    public var name: String
    public var subjects: [String]
    public var retention: Retention = .limits
    public var storage: Storage = .file
    /// How long message ids are remembered to drop re-sent duplicates.
    public var duplicateWindow: Duration = .seconds(120)

    public init(name: String, subjects: [String]) {
        self.name = name
        self.subjects = subjects
    }
}

/// What the server said about a stored message.
public struct PublishAck: Sendable, Equatable {
    public let stream: String
    public let sequence: UInt64
    /// The message id had been seen within the duplicate window: nothing new was stored.
    public let duplicate: Bool
}

/// JetStream over one connection. Every call that waits for the server runs on a thread of
/// its own.
public final class JetStream: @unchecked Sendable {
    public let connection: NATSConnection
    let context: OpaquePointer

    /// `connection` must stay open while this is used; the JetStream keeps it alive. It uses
    /// the streams of the connection's JetStream domain (`NATSOptions.jetStreamDomain`).
    public init(_ connection: NATSConnection) throws(NATSError) {
        var created: OpaquePointer?
        let status: natsStatus
        if let domain = connection.options.jetStreamDomain {
            // libnats copies the domain into the context.
            status = domain.withCString { name in
                var options = jsOptions()
                jsOptions_Init(&options)
                options.Domain = name
                return natsConnection_JetStream(&created, connection.handle, &options)
            }
        } else {
            status = natsConnection_JetStream(&created, connection.handle, nil)
        }
        try NATSError.check(status, "natsConnection_JetStream")
        guard let created else { throw .closed }
        self.connection = connection
        self.context = created
    }

    deinit { jsCtx_Destroy(context) }

    /// Creates the stream, or updates it to `config` if it exists.
    public func createOrUpdateStream(_ config: StreamConfig) async throws(NATSError) {
        let context = SendableHandle(pointer: self.context)
        try await blockingCall("js-stream") { () throws(NATSError) in
            let strings = CStrings()
            var settings = jsStreamConfig()
            jsStreamConfig_Init(&settings)
            settings.Name = strings(config.name)
            settings.Subjects = strings.array(config.subjects)
            settings.SubjectsLen = Int32(config.subjects.count)
            switch config.retention {
            case .limits: settings.Retention = js_LimitsPolicy
            case .workQueue: settings.Retention = js_WorkQueuePolicy
            case .interest: settings.Retention = js_InterestPolicy
            }
            settings.Storage = config.storage == .file ? js_FileStorage : js_MemoryStorage
            settings.Duplicates = config.duplicateWindow.nanoseconds
            var info: UnsafeMutablePointer<jsStreamInfo>?
            var code = jsErrCode(0)
            var status = js_AddStream(&info, context.pointer, &settings, nil, &code)
            if status != NATS_OK && code == JSStreamNameExistErr {
                status = js_UpdateStream(&info, context.pointer, &settings, nil, &code)
            }
            if let info { jsStreamInfo_Destroy(info) }
            try Self.check(status, code, "creating stream '\(config.name)'")
        }
    }

    /// Stores `payload` on `subject` and waits for the server's acknowledgement. With a
    /// `messageID`, a message re-sent after a lost acknowledgement is stored once.
    public func publish(
        _ subject: String, _ payload: [UInt8], messageID: String? = nil, timeout: Duration = .seconds(5)
    ) async throws(NATSError) -> PublishAck {
        try await blockingCall("js-publish") { () throws(NATSError) -> PublishAck in
            try self.publishBlocking(subject, payload, messageID: messageID, timeout: timeout)
        }
    }

    /// `publish` on the caller's thread, which it blocks until the server answers: for a thread
    /// of the caller's own (never Swift's cooperative pool).
    public func publishBlocking(
        _ subject: String, _ payload: [UInt8], messageID: String? = nil, timeout: Duration = .seconds(5)
    ) throws(NATSError) -> PublishAck {
        let context = SendableHandle(pointer: self.context)
        do {
            let strings = CStrings()
            var options = jsPubOptions()
            jsPubOptions_Init(&options)
            options.MaxWait = timeout.milliseconds
            if let messageID { options.MsgId = strings(messageID) }
            var ack: UnsafeMutablePointer<jsPubAck>?
            var code = jsErrCode(0)
            let status = payload.withUnsafeBytes { bytes in
                js_Publish(&ack, context.pointer, subject, bytes.baseAddress, Int32(bytes.count), &options, &code)
            }
            defer { if let ack { jsPubAck_Destroy(ack) } }
            try Self.check(status, code, "publishing on '\(subject)'")
            guard let ack else { throw .closed }
            let stream = ack.pointee.Stream.map { String(cString: $0) } ?? ""
            return PublishAck(stream: stream, sequence: ack.pointee.Sequence, duplicate: ack.pointee.Duplicate)
        }
    }

    /// A durable pull consumer on `stream`: messages are fetched when there is room for them
    /// and must be acknowledged within `ackWait`, or they are delivered again, at most
    /// `maxDeliver` times. Made if it does not exist (nil terms: the server's, 30 s and no
    /// limit); one that exists is bound if its terms are those given (nil: whatever they are).
    public func pullConsumer(
        stream: String, durable: String, filter: String, ackWait: Duration? = nil, maxDeliver: Int? = nil
    ) async throws(NATSError) -> PullConsumer {
        let context = SendableHandle(pointer: self.context)
        let subscription = try await blockingCall("js-pull") { () throws(NATSError) -> SendableHandle in
            let strings = CStrings()
            var options = jsSubOptions()
            jsSubOptions_Init(&options)
            options.Stream = strings(stream)
            options.Config.AckPolicy = js_AckExplicit
            if let ackWait { options.Config.AckWait = ackWait.nanoseconds }
            if let maxDeliver { options.Config.MaxDeliver = Int64(maxDeliver) }
            var subscription: OpaquePointer?
            var code = jsErrCode(0)
            let status = js_PullSubscribe(&subscription, context.pointer, filter, durable, nil, &options, &code)
            try Self.check(status, code, "creating pull consumer '\(durable)' on '\(stream)'")
            guard let subscription else { throw .closed }
            return SendableHandle(pointer: subscription)
        }
        return PullConsumer(jetStream: self, subscription: subscription, durable: durable)
    }

    /// Makes durable pull consumer `durable` on `stream` for `filter` with these terms, or
    /// brings one that exists to them (a restart with another `--max-deliver` takes effect).
    public func ensurePullConsumer(
        stream: String, durable: String, filter: String, ackWait: Duration, maxDeliver: Int
    ) async throws(NATSError) {
        try await addConsumer(stream: stream, durable: durable, filter: filter, ackWait: ackWait, update: true) {
            config, _ in config.MaxDeliver = Int64(maxDeliver)
        }
    }

    /// Makes durable consumer `durable` on `stream` for `filter`, every message from the first,
    /// each acknowledged within `ackWait`, with the terms `more` sets. One that exists already is
    /// left with its terms, or with `update` brought to these.
    func addConsumer(
        stream: String, durable: String, filter: String, ackWait: Duration, update: Bool,
        _ more: @escaping @Sendable (inout jsConsumerConfig, CStrings) -> Void
    ) async throws(NATSError) {
        let context = SendableHandle(pointer: self.context)
        try await blockingCall("js-consumer") { () throws(NATSError) in
            let strings = CStrings()
            var config = jsConsumerConfig()
            jsConsumerConfig_Init(&config)
            config.Durable = strings(durable)
            config.FilterSubject = strings(filter)
            config.DeliverPolicy = js_DeliverAll
            config.AckPolicy = js_AckExplicit
            config.AckWait = ackWait.nanoseconds
            more(&config, strings)
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            var code = jsErrCode(0)
            var status = js_AddConsumer(&info, context.pointer, stream, &config, nil, &code)
            if let info { jsConsumerInfo_Destroy(info) }
            guard status != NATS_OK && code.rawValue != 0 else {  // made, or failed for another reason
                try Self.check(status, code, "making consumer '\(durable)' on '\(stream)'")
                return
            }
            guard update else { return }  // it exists, with other terms: bound as it is
            info = nil
            code = jsErrCode(0)
            status = js_UpdateConsumer(&info, context.pointer, stream, &config, nil, &code)
            if let info { jsConsumerInfo_Destroy(info) }
            try Self.check(status, code, "updating consumer '\(durable)' on '\(stream)'")
        }
    }

    static func check(_ status: natsStatus, _ code: jsErrCode, _ what: String) throws(NATSError) {
        guard status != NATS_OK else { return }
        let error = NATSError.error(status, what)
        guard code.rawValue != 0, case .call(let call, let text, let detail) = error else { throw error }
        throw .call(call, status: text, detail: detail.isEmpty ? "JetStream error \(code.rawValue)" : detail)
    }
}
