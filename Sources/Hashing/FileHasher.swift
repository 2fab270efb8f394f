#if canImport(Glibc)
    import Glibc
#endif

/// A SHA-256 digest: 32 bytes kept as four words, so a model of 100,000 files holds no
/// strings for them.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    public let words: (UInt64, UInt64, UInt64, UInt64)

    /// The digest of exactly 32 bytes (fewer are padded with zeros; more are cut).
    public init(_ bytes: some Collection<UInt8>) {
        var padded = Array(bytes.prefix(32))
        padded += [UInt8](repeating: 0, count: 32 - padded.count)
        func word(_ index: Int) -> UInt64 {
            padded[index * 8..<index * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) }
        }
        words = (word(0), word(1), word(2), word(3))
    }

    /// The digest in the 32 bytes at `raw` (read as four big-endian words; no copies).
    public init(_ raw: UnsafeRawBufferPointer) {
        guard raw.count >= 32 else {
            self.init(Array(raw))
            return
        }
        self.init(
            words: (
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            ))
    }

    private init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// The digest written as 64 lowercase hex digits; nil if `hex` is not that.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.value(digits[index]), let low = Self.value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.init(bytes)
    }

    /// 64 lowercase hex digits.
    public var hex: String {
        let alphabet = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for word in [words.0, words.1, words.2, words.3] {
            for shift in stride(from: 60, through: 0, by: -4) {
                text.append(alphabet[Int(word >> UInt64(shift) & 0xF)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hex }

    public static func == (left: SHA256Digest, right: SHA256Digest) -> Bool {
        left.words == right.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// What a file looked like, from `fstat`: enough to tell whether it changed.
public struct FileIdentity: Equatable, Sendable {
    public var size: UInt64
    public var modified: Int64  // nanoseconds since the epoch
    public var inode: UInt64
    public var device: UInt64
    public var mode: UInt32

    public init(size: UInt64, modified: Int64, inode: UInt64, device: UInt64, mode: UInt32) {
        self.size = size
        self.modified = modified
        self.inode = inode
        self.device = device
        self.mode = mode
    }

    public init(_ info: stat) {
        self.init(
            size: UInt64(max(0, info.st_size)),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            inode: UInt64(info.st_ino), device: UInt64(info.st_dev), mode: UInt32(info.st_mode))
    }
}

/// Hashes files one after another with one OpenSSL context and one read buffer, both reused
/// (a hashing worker owns one). Each result says what the file was while it was read, so a
/// file that changed under the hasher is detected rather than recorded with a wrong hash.
public final class FileHasher {
    private let hasher: SHA256Hasher
    private let buffer: UnsafeMutableRawBufferPointer

    /// The file's digest and its identity before and after reading.
    public struct Result: Sendable {
        public var digest: SHA256Digest
        public var before: FileIdentity
        public var after: FileIdentity
        /// Whether size, time or inode moved while the file was read.
        public var changedWhileRead: Bool { before != after }
    }

    public init(bufferSize: Int = 1 << 20) throws {
        hasher = try SHA256Hasher()
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Reads the file at `path` to its end and returns its digest. A symbolic link is refused
    /// (ELOOP) unless `followingLinks`: the watcher hashes only what it saw as a regular file.
    public func hash(_ path: String, followingLinks: Bool = false) throws -> Result {
        try hash(at: AT_FDCWD, path, followingLinks: followingLinks) { path }
    }

    /// Hashes `name` in the open directory `directory` (a descriptor): no path is looked up
    /// again from the root, which is most of the cost of a small file. `path` names the file in
    /// errors. Only a regular file is read (a FIFO or device put there since is refused with
    /// EINVAL, and never blocks the worker).
    public func hash(in directory: Int32, _ name: String, describedAs path: @autoclosure () -> String) throws
        -> Result
    {
        try hash(at: directory, name, followingLinks: false, describedAs: path)
    }

    private func hash(
        at directory: Int32, _ name: String, followingLinks: Bool, describedAs path: () -> String
    ) throws -> Result {
        let fd = openat(directory, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (followingLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw HashingError.file(path: path(), call: "open", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw HashingError.file(path: path(), call: "fstat", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw HashingError.file(path: path(), call: "open", errno: EINVAL)
        }
        let before = FileIdentity(info)
        try hasher.reset()
        // Reading stops at the size fstat gave: a file that grew meanwhile shows it in the
        // identity after, so the extra read that would return 0 is not needed.
        var remaining = before.size
        while remaining > 0 || before.size == 0 {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw HashingError.file(path: path(), call: "read", errno: errno)
            }
            try hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            remaining -= min(remaining, UInt64(count))
        }
        guard fstat(fd, &info) == 0 else { throw HashingError.file(path: path(), call: "fstat", errno: errno) }
        return Result(digest: try hasher.finalize(), before: before, after: FileIdentity(info))
    }
}
