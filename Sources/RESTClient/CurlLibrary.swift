import CCurl

/// Facts about the libcurl the binary was linked against.
public enum CurlLibrary {
    /// The version line libcurl reports at run time, e.g. "libcurl/7.88.1 OpenSSL/3.0.17 …".
    public static var version: String {
        guard let text = curl_version() else { return "unknown" }
        return String(cString: text)
    }
}
