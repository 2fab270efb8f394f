import CCurl
import Foundation

/// One libcurl easy handle for one transfer, with the options every request shares. One
/// owner; the handle never leaves it. `perform` blocks: call it on a thread of its own.
final class CurlTransfer {
    private let handle: OpaquePointer
    private var headers: UnsafeMutablePointer<curl_slist>?
    /// curl writes the detail of a failure here (CURLOPT_ERRORBUFFER).
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    /// libcurl is initialised once per process, before the first handle.
    private static let initialised: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    init() throws(RESTError) {
        guard Self.initialised, let handle = curl_easy_init() else {
            throw .curl("curl_easy_init", code: -1, message: "cannot initialise libcurl")
        }
        self.handle = OpaquePointer(handle)
        errorBuffer.initialize(to: 0)
        try set(CURLOPT_ERRORBUFFER, pointer: errorBuffer)
        try set(CURLOPT_NOSIGNAL, 1)  // PLATFORM.md: no signals in a threaded process
    }

    deinit {
        curl_easy_cleanup(UnsafeMutableRawPointer(handle))
        curl_slist_free_all(headers)
        errorBuffer.deallocate()
    }

    func set(_ option: CURLoption, _ value: Int) throws(RESTError) {
        try check(ccurl_setopt_long(raw, option, value), "setting \(option)")
    }

    func set(_ option: CURLoption, _ value: String) throws(RESTError) {
        try check(ccurl_setopt_string(raw, option, value), "setting \(option)")  // curl copies strings
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(RESTError) {
        try check(ccurl_setopt_pointer(raw, option, pointer), "setting \(option)")
    }

    func set(_ option: CURLoption, callback: ccurl_data_callback) throws(RESTError) {
        try check(ccurl_setopt_callback(raw, option, callback), "setting \(option)")
    }

    func setProgress(_ callback: curl_xferinfo_callback, context: UnsafeMutableRawPointer) throws(RESTError) {
        try check(ccurl_setopt_progress(raw, callback), "setting the progress callback")
        try set(CURLOPT_XFERINFODATA, pointer: context)
        try set(CURLOPT_NOPROGRESS, 0)
    }

    /// The request body; curl keeps its own copy (CURLOPT_COPYPOSTFIELDS, PLATFORM.md).
    func setBody(_ body: [UInt8]) throws(RESTError) {
        try set(CURLOPT_POSTFIELDSIZE, body.count)
        let code = body.withUnsafeBytes { bytes in
            ccurl_setopt_pointer(raw, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        }
        try check(code, "setting the request body")
    }

    /// Adds a request header (`Name: value`).
    func addHeader(_ line: String) throws(RESTError) {
        guard let list = curl_slist_append(headers, line) else {
            throw .curl("curl_slist_append", code: -1, message: "out of memory")
        }
        headers = list
        try set(CURLOPT_HTTPHEADER, pointer: UnsafeMutableRawPointer(list))
    }

    /// Runs the transfer to its end; returns curl's result code.
    func perform() -> CURLcode { curl_easy_perform(raw) }

    /// The HTTP status of the response.
    var status: Int {
        var code = 0
        _ = ccurl_getinfo_long(raw, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// curl's own text for `code`, with the error buffer's detail when there is one.
    func message(for code: CURLcode) -> String {
        let detail = String(cString: errorBuffer)
        if !detail.isEmpty { return detail }
        return curl_easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
    }

    private var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(handle) }

    private func check(_ code: CURLcode, _ call: String) throws(RESTError) {
        guard code != CURLE_OK else { return }
        throw .curl(call, code: Int(code.rawValue), message: message(for: code))
    }
}
