import CCurl
import Synchronization

/// Collects a response body on curl's thread.
final class ResponseSink: @unchecked Sendable {
    var bytes: [UInt8] = []
}

/// Turns a streamed body into events for an `AsyncThrowingStream`, on curl's thread.
final class EventStreamSink: @unchecked Sendable {
    private let continuation: AsyncThrowingStream<ServerSentEvent, any Error>.Continuation
    private let path: String
    private var parser = ServerSentEventParser()
    private let cancelled = Atomic<Bool>(false)
    /// The body of an error response (not an event stream), kept for the error message.
    private(set) var errorBody: [UInt8] = []
    /// The transfer being read, for its status when the first bytes arrive.
    weak var transfer: CurlTransfer?
    /// Decided on the first bytes: a non-2xx response is kept as an error body, not parsed.
    private var isErrorResponse: Bool?

    init(continuation: AsyncThrowingStream<ServerSentEvent, any Error>.Continuation, path: String) {
        self.continuation = continuation
        self.path = path
    }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
    var hasPartialEvent: Bool { parser.hasPartialEvent }

    /// The consumer stopped iterating: the transfer stops at curl's next progress check.
    func cancel() { cancelled.store(true, ordering: .releasing) }

    func receive(_ bytes: UnsafeBufferPointer<UInt8>) {
        if isErrorResponse == nil { isErrorResponse = !(200..<300).contains(transfer?.status ?? 200) }
        if isErrorResponse == true {
            errorBody += bytes
            return
        }
        for event in parser.feed(bytes) { continuation.yield(event) }
    }
}

/// CURLOPT_WRITEFUNCTION for ordinary requests: append to the sink.
let collectBody: ccurl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let length = size * count
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    data.withMemoryRebound(to: UInt8.self, capacity: length) {
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}

/// CURLOPT_WRITEFUNCTION for event streams: parse and hand over, or stop when cancelled.
let collectEvents: ccurl_data_callback = { data, size, count, context in
    guard let data, let context else { return 0 }
    let length = size * count
    let sink = Unmanaged<EventStreamSink>.fromOpaque(context).takeUnretainedValue()
    if sink.isCancelled { return 0 }  // curl aborts the transfer with CURLE_WRITE_ERROR
    data.withMemoryRebound(to: UInt8.self, capacity: length) {
        sink.receive(UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}

/// CURLOPT_XFERINFOFUNCTION: curl calls it often, even while no data arrives, so a stream
/// whose consumer went away stops although the server sends nothing.
let checkCancelled: curl_xferinfo_callback = { context, _, _, _, _ in
    guard let context else { return 0 }
    return Unmanaged<EventStreamSink>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
}
