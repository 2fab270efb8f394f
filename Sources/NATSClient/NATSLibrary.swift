import CNATS

/// Facts about the libnats the binary was linked against.
public enum NATSLibrary {
    /// The version libnats reports at run time, e.g. "3.4.1".
    public static var version: String {
        guard let text = nats_GetVersion() else { return "unknown" }
        return String(cString: text)
    }
}
