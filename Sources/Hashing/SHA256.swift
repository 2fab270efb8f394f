import COpenSSLCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// What can go wrong while hashing.
public enum HashingError: Error, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed; `call` names it and `reason` is OpenSSL's own text.
    case openSSL(call: String, reason: String)
    /// A file could not be opened or read.
    case file(path: String, call: String, errno: Int32)

    public var description: String {
        switch self {
        case .openSSL(let call, let reason): return "\(call) failed: \(reason)"
        case .file(let path, let call, let code):
            return "'\(path)': \(call): \(String(cString: strerror(code)))"
        }
    }
}

/// An incremental SHA-256 computation through OpenSSL's EVP interface (which uses the CPU's
/// SHA extensions). One owner; the context never leaves this type.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() throws {
        guard let context = EVP_MD_CTX_new() else {
            throw HashingError.openSSL(call: "EVP_MD_CTX_new", reason: Self.lastOpenSSLError())
        }
        self.context = context
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            EVP_MD_CTX_free(context)
            throw HashingError.openSSL(call: "EVP_DigestInit_ex", reason: Self.lastOpenSSLError())
        }
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds `bytes` to the digest.
    public func update(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            throw HashingError.openSSL(call: "EVP_DigestUpdate", reason: Self.lastOpenSSLError())
        }
    }

    /// Ends the computation and returns the digest as 64 lowercase hex digits.
    public func finalizeHex() throws -> String {
        try finalize().hex
    }

    /// Ends the computation and returns the digest.
    public func finalize() throws -> SHA256Digest {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1 else {
            throw HashingError.openSSL(call: "EVP_DigestFinal_ex", reason: Self.lastOpenSSLError())
        }
        guard length == 32 else { return SHA256Digest(digest.prefix(Int(length))) }
        return digest.withUnsafeBytes { SHA256Digest(UnsafeRawBufferPointer(rebasing: $0[0..<32])) }
    }

    /// Starts a new computation on the same context (cheaper than a new hasher).
    public func reset() throws {
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            throw HashingError.openSSL(call: "EVP_DigestInit_ex", reason: Self.lastOpenSSLError())
        }
    }

    /// The SHA-256 of `bytes`.
    public static func digest(of bytes: some Collection<UInt8>) throws -> SHA256Digest {
        let hasher = try SHA256Hasher()
        try Array(bytes).withUnsafeBytes { try hasher.update($0) }
        return try hasher.finalize()
    }

    /// The SHA-256 of `bytes`, as hex.
    public static func hex(of bytes: some Collection<UInt8>) throws -> String {
        try digest(of: bytes).hex
    }

    /// The SHA-256 of the file at `path` (links followed), read in 1 MiB blocks (PLATFORM.md), as hex.
    public static func hex(ofFileAt path: String) throws -> String {
        try FileHasher().hash(path, followingLinks: true).digest.hex
    }

    static func lastOpenSSLError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "no reason given" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Facts about the OpenSSL the binary was linked against.
public enum OpenSSLLibrary {
    /// The version OpenSSL reports at run time, e.g. "OpenSSL 3.0.17 1 Jul 2025".
    public static var version: String {
        guard let text = OpenSSL_version(OPENSSL_VERSION) else { return "unknown" }
        return String(cString: text)
    }
}
