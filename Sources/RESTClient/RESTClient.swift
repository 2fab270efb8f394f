import CCurl
import CPModel
import Foundation

/// Where a MajorDomo listens.
public enum RESTEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A Unix domain socket (the default, `$XDG_RUNTIME_DIR/computepods/majordomo.sock`).
    case unixSocket(String)
    /// A base URL such as `http://127.0.0.1:8420`.
    case url(String)

    public var description: String {
        switch self {
        case .unixSocket(let path): return path
        case .url(let url): return url
        }
    }
}

/// How to reach a MajorDomo.
public struct RESTOptions: Sendable {
    public var endpoint: RESTEndpoint
    /// Sent as `Authorization: Bearer …` when set.
    public var token: String?
    public var connectTimeout: Duration = .seconds(5)
    /// The longest a request may take (event streams have none).
    public var timeout: Duration = .seconds(30)

    public init(endpoint: RESTEndpoint, token: String? = nil) {
        self.endpoint = endpoint
        self.token = token
    }
}

/// A response: status and body.
public struct RESTResponse: Sendable {
    public let status: Int
    public let body: [UInt8]
}

/// The user's REST client of the MajorDomo over libcurl: JSON requests and replies, and
/// Server-Sent Events as an `AsyncSequence`. Every transfer has its own curl handle and runs
/// on a thread of its own (curl's perform blocks).
public final class RESTClient: Sendable {
    public let options: RESTOptions

    public init(_ options: RESTOptions) {
        self.options = options
    }

    public func get<Reply: Decodable>(_ path: String, as type: Reply.Type) async throws(RESTError) -> Reply {
        try decode(try await send("GET", path), as: type)
    }

    public func post<Body: Encodable, Reply: Decodable>(
        _ path: String, _ body: Body, as type: Reply.Type
    ) async throws(RESTError) -> Reply {
        try decode(try await send("POST", path, body: encode(body)), as: type)
    }

    public func put<Body: Encodable, Reply: Decodable>(
        _ path: String, _ body: Body, as type: Reply.Type
    ) async throws(RESTError) -> Reply {
        try decode(try await send("PUT", path, body: encode(body)), as: type)
    }

    public func delete<Reply: Decodable>(_ path: String, as type: Reply.Type) async throws(RESTError) -> Reply {
        try decode(try await send("DELETE", path), as: type)
    }

    /// Sends one request; a status other than 2xx throws `.http` with the server's message.
    public func send(_ method: String, _ path: String, body: [UInt8]? = nil) async throws(RESTError) -> RESTResponse {
        let options = self.options
        let response = try await blockingCall("rest-\(method)") { () throws(RESTError) -> RESTResponse in
            let transfer = try CurlTransfer()
            try Self.configure(transfer, options, method: method, path: path, body: body, streaming: false)
            let sink = ResponseSink()
            let context = Unmanaged.passRetained(sink)
            defer { context.release() }
            try transfer.set(CURLOPT_WRITEFUNCTION, callback: collectBody)
            try transfer.set(CURLOPT_WRITEDATA, pointer: context.toOpaque())
            try Self.check(transfer.perform(), transfer, options, "\(method) \(path)")
            return RESTResponse(status: transfer.status, body: sink.bytes)
        }
        guard (200..<300).contains(response.status) else {
            throw .http(status: response.status, message: Self.errorMessage(in: response.body))
        }
        return response
    }

    /// The events of the stream at `path`, in order. The sequence ends when the server ends
    /// the stream, throws `.streamInterrupted` if it ends in the middle of an event, and stops
    /// the transfer when the consumer stops iterating.
    /// With `lastEventID`, the server replays the events after it (`Last-Event-ID`).
    public func events(_ path: String, lastEventID: String? = nil) -> AsyncThrowingStream<ServerSentEvent, any Error> {
        let options = self.options
        return AsyncThrowingStream { continuation in
            let stream = EventStreamSink(continuation: continuation, path: path)
            continuation.onTermination = { _ in stream.cancel() }
            let thread = Thread {
                do throws(RESTError) {
                    try Self.runEventStream(stream, options, path: path, lastEventID: lastEventID)
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.name = "rest-events"
            thread.start()
        }
    }

    private static func runEventStream(
        _ stream: EventStreamSink, _ options: RESTOptions, path: String, lastEventID: String?
    ) throws(RESTError) {
        let transfer = try CurlTransfer()
        try configure(transfer, options, method: "GET", path: path, body: nil, streaming: true)
        try transfer.addHeader("Accept: text/event-stream")
        if let lastEventID { try transfer.addHeader("Last-Event-ID: \(lastEventID)") }
        stream.transfer = transfer
        let context = Unmanaged.passRetained(stream)
        defer { context.release() }
        try transfer.set(CURLOPT_WRITEFUNCTION, callback: collectEvents)
        try transfer.set(CURLOPT_WRITEDATA, pointer: context.toOpaque())
        try transfer.setProgress(checkCancelled, context: context.toOpaque())
        let code = transfer.perform()
        if code == CURLE_ABORTED_BY_CALLBACK || code == CURLE_WRITE_ERROR, stream.isCancelled { return }
        try check(code, transfer, options, "GET \(path)")
        guard (200..<300).contains(transfer.status) else {
            throw .http(status: transfer.status, message: errorMessage(in: stream.errorBody))
        }
        if stream.hasPartialEvent { throw .streamInterrupted(path: path) }
    }

    private static func configure(
        _ transfer: CurlTransfer, _ options: RESTOptions, method: String, path: String, body: [UInt8]?,
        streaming: Bool
    ) throws(RESTError) {
        switch options.endpoint {
        case .unixSocket(let socket):
            try transfer.set(CURLOPT_UNIX_SOCKET_PATH, socket)
            try transfer.set(CURLOPT_URL, "http://localhost" + path)
        case .url(let base):
            try transfer.set(CURLOPT_URL, base.hasSuffix("/") ? String(base.dropLast()) + path : base + path)
        }
        try transfer.set(CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout.milliseconds))
        try transfer.set(CURLOPT_TIMEOUT_MS, streaming ? 0 : Int(options.timeout.milliseconds))
        try transfer.set(CURLOPT_CUSTOMREQUEST, method)
        try transfer.addHeader("Accept: application/json")
        if let token = options.token { try transfer.addHeader("Authorization: Bearer \(token)") }
        if let body {
            try transfer.addHeader("Content-Type: application/json")
            try transfer.setBody(body)
        }
    }

    private static func check(
        _ code: CURLcode, _ transfer: CurlTransfer, _ options: RESTOptions, _ what: String
    ) throws(RESTError) {
        switch code {
        case CURLE_OK: return
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST:
            throw .unreachable(endpoint: options.endpoint.description)
        case CURLE_OPERATION_TIMEDOUT:
            let seconds =
                Double(options.timeout.components.seconds)
                + Double(options.timeout.components.attoseconds) / 1e18
            throw .timeout(endpoint: options.endpoint.description, seconds: seconds)
        default:
            throw .curl(what, code: Int(code.rawValue), message: transfer.message(for: code))
        }
    }

    /// The `{"error": {"message": …}}` text of an error body, or the body's start.
    static func errorMessage(in body: [UInt8]) -> String {
        struct ErrorBody: Decodable {
            struct Detail: Decodable { let message: String }
            let error: Detail
        }
        if let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body)) { return decoded.error.message }
        let text = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "no message" : text
    }

    private func encode<Body: Encodable>(_ body: Body) throws(RESTError) -> [UInt8] {
        do { return Array(try JSONEncoder().encode(body)) } catch { throw .body("cannot encode the request: \(error)") }
    }

    private func decode<Reply: Decodable>(_ response: RESTResponse, as type: Reply.Type) throws(RESTError) -> Reply {
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            throw .body("the MajorDomo's reply is not what this cp expects: \(error)")
        }
    }
}
