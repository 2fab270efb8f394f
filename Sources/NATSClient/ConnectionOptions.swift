import CNATS
import Foundation
import Logging
import Synchronization

/// Turns `NATSOptions` into a libnats options object on the thread that connects.
struct ConnectionOptions: @unchecked Sendable {
    let urls: [String]
    let options: NATSOptions
    /// The retained `ConnectionEvents`, released by its closed callback.
    let events: UnsafeMutableRawPointer

    init(_ options: NATSOptions, events: ConnectionEvents) {
        self.urls = options.urls
        self.options = options
        self.events = events.retainedContext()
    }

    /// A new libnats options object; the caller destroys it.
    func make() throws(NATSError) -> OpaquePointer {
        var created: OpaquePointer?
        try NATSError.check(natsOptions_Create(&created), "natsOptions_Create")
        guard let made = created else { throw .closed }
        do throws(NATSError) {
            try configure(made)
        } catch {
            natsOptions_Destroy(made)
            throw error
        }
        return made
    }

    private func configure(_ made: OpaquePointer) throws(NATSError) {
        let servers = urls.map { strdup($0) }
        defer { servers.forEach { free($0) } }
        let status = servers.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { list in
            natsOptions_SetServers(made, UnsafeMutablePointer(mutating: list.baseAddress), Int32(list.count))
        }
        try NATSError.check(status, "natsOptions_SetServers(\(urls.joined(separator: ",")))")
        try NATSError.check(natsOptions_SetName(made, options.name), "natsOptions_SetName")
        try NATSError.check(natsOptions_SetTimeout(made, options.connectTimeout.milliseconds), "natsOptions_SetTimeout")
        try NATSError.check(natsOptions_SetMaxReconnect(made, -1), "natsOptions_SetMaxReconnect")
        try NATSError.check(
            natsOptions_SetReconnectWait(made, options.reconnectWait.milliseconds), "natsOptions_SetReconnectWait")
        try NATSError.check(
            natsOptions_SetReconnectBufSize(made, Int32(clamping: options.reconnectBufferBytes)),
            "natsOptions_SetReconnectBufSize")
        try NATSError.check(
            natsOptions_SetMaxPendingMsgs(made, Int32(clamping: options.pendingMessageLimit)),
            "natsOptions_SetMaxPendingMsgs")
        try NATSError.check(natsOptions_SetSendAsap(made, options.sendAsap), "natsOptions_SetSendAsap")
        if let file = options.credentialsFile {
            try NATSError.check(
                natsOptions_SetUserCredentialsFromFiles(made, file, nil), "reading NATS credentials '\(file)'")
        }
        if let file = options.caFile {
            try NATSError.check(natsOptions_SetSecure(made, true), "natsOptions_SetSecure")
            try NATSError.check(natsOptions_LoadCATrustedCertificates(made, file), "reading CA certificate '\(file)'")
        }
        try NATSError.check(natsOptions_SetErrorHandler(made, connectionError, events), "natsOptions_SetErrorHandler")
        try NATSError.check(
            natsOptions_SetDisconnectedCB(made, connectionDisconnected, events), "natsOptions_SetDisconnectedCB")
        try NATSError.check(
            natsOptions_SetReconnectedCB(made, connectionReconnected, events), "natsOptions_SetReconnectedCB")
        try NATSError.check(natsOptions_SetClosedCB(made, connectionClosed, events), "natsOptions_SetClosedCB")
    }
}

/// What libnats reports about a connection, logged as it happens.
final class ConnectionEvents: Sendable {
    private struct State {
        var reconnects = 0
        var closed = false
    }

    let logger: Logger
    let name: String
    private let state = Mutex(State())

    init(logger: Logger, name: String) {
        self.logger = logger
        self.name = name
    }

    /// Retains `self` for libnats' callbacks; the closed callback (or `release`) lets go.
    func retainedContext() -> UnsafeMutableRawPointer { Unmanaged.passRetained(self).toOpaque() }

    /// Lets go of the retain when the connection never came up (no closed callback follows).
    func release() { Unmanaged.passUnretained(self).release() }

    var reconnects: Int { state.withLock { $0.reconnects } }
    var isClosed: Bool { state.withLock { $0.closed } }

    /// The link dropped; one that a drain or a close ended is not news.
    func disconnected(closing: Bool) {
        guard !closing else { return }
        logger.warning("disconnected from NATS; reconnecting", metadata: ["name": "\(name)"])
    }

    func reconnected() {
        state.withLock { $0.reconnects += 1 }
        logger.notice("reconnected to NATS", metadata: ["name": "\(name)"])
    }

    func closed() {
        state.withLock { $0.closed = true }
        logger.debug("NATS connection closed", metadata: ["name": "\(name)"])
    }

    func failed(_ status: natsStatus, subject: String?) {
        let text = natsStatus_GetText(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
        if status == NATS_SLOW_CONSUMER {
            logger.warning(
                "slow consumer: messages dropped", metadata: ["name": "\(name)", "subject": "\(subject ?? "?")"])
        } else {
            logger.error("NATS error: \(text)", metadata: ["name": "\(name)", "subject": "\(subject ?? "-")"])
        }
    }

    /// Waits until the closed callback has run.
    func waitUntilClosed(timeout: Duration) async throws(NATSError) {
        let deadline = ContinuousClock.now + timeout
        while !isClosed {
            guard ContinuousClock.now < deadline else { throw .call("drain", status: "timeout", detail: "") }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

private func events(_ closure: UnsafeMutableRawPointer?) -> ConnectionEvents? {
    closure.map { Unmanaged<ConnectionEvents>.fromOpaque($0).takeUnretainedValue() }
}

private let connectionDisconnected: natsConnectionHandler = { connection, closure in
    events(closure)?.disconnected(closing: natsConnection_IsDraining(connection) || natsConnection_IsClosed(connection))
}
private let connectionReconnected: natsConnectionHandler = { _, closure in events(closure)?.reconnected() }
private let connectionClosed: natsConnectionHandler = { _, closure in
    guard let closure else { return }
    let events = Unmanaged<ConnectionEvents>.fromOpaque(closure).takeRetainedValue()
    events.closed()
}
private let connectionError: natsErrHandler = { _, subscription, status, closure in
    let subject = subscription.flatMap { natsSubscription_GetSubject($0) }.map { String(cString: $0) }
    events(closure)?.failed(status, subject: subject)
}
