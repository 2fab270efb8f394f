import CLibSSH

/// Facts about the libssh the binary was linked against.
public enum SSHLibrary {
    /// The version libssh reports at run time, e.g. "0.10.6/openssl/zlib".
    public static var version: String {
        guard let text = ssh_version(0) else { return "unknown" }
        return String(cString: text)
    }
}
