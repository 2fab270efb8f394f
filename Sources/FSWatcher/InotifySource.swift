import CPModel
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The real event source: one inotify instance, non-blocking, read after `poll` together with
/// a pipe that `wake()` writes to. The only file that touches inotify (PLATFORM.md: parse
/// events by byte offset, a 16-byte header then a NUL-padded name).
public final class InotifySource: FileEventSource, @unchecked Sendable {
    private let descriptor: Int32
    private let wakeReader: Int32
    private let wakeWriter: Int32
    private var buffer: UnsafeMutableRawBufferPointer

    /// The current `fs.inotify.max_user_watches`, for messages; nil if unreadable.
    public static var watchLimit: Int? {
        let text = try? String(contentsOfFile: "/proc/sys/fs/inotify/max_user_watches", encoding: .utf8)
        return text.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public init() throws(WatchFailure) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { throw .unavailable(errno: errno) }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            let code = errno
            close(descriptor)
            throw .unavailable(errno: code)
        }
        for end in pipeEnds {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        self.descriptor = descriptor
        wakeReader = pipeEnds[0]
        wakeWriter = pipeEnds[1]
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 8)
    }

    deinit {
        close(descriptor)
        close(wakeReader)
        close(wakeWriter)
        buffer.deallocate()
    }

    public func watch(directory path: String) throws(WatchFailure) -> Int32 {
        let flags = EventMask.watched | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW) | UInt32(IN_EXCL_UNLINK)
        let watch = inotify_add_watch(descriptor, path, flags)
        guard watch >= 0 else { throw errno == ENOSPC ? .limitReached : .unavailable(errno: errno) }
        return watch
    }

    public func unwatch(_ watch: Int32) {
        inotify_rm_watch(descriptor, watch)
    }

    public func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)  // a full pipe already wakes the reader
    }

    public func next(timeout: Duration?) -> [RawEvent] {
        var descriptors = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeReader, events: Int16(POLLIN), revents: 0),
        ]
        let ready = Self.wait(&descriptors, timeout: timeout)
        guard ready > 0 else { return [] }
        if descriptors[1].revents != 0 {
            var drained = [UInt8](repeating: 0, count: 64)
            while read(wakeReader, &drained, drained.count) > 0 {}
        }
        var events: [RawEvent] = []
        while true {
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            if count <= 0 { break }  // EAGAIN: drained
            events += Self.parse(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return events
    }

    /// `ppoll` (to the nanosecond) when the C library has it, else `poll` with the timeout
    /// rounded up to a millisecond (so a wait never returns just before its deadline and
    /// spins). The rounding alone would add half a millisecond to every settled change.
    private static func wait(_ descriptors: inout [pollfd], timeout: Duration?) -> Int32 {
        let count = nfds_t(descriptors.count)
        guard let ppoll = Self.ppoll else {
            let milliseconds = timeout.map { $0 <= .zero ? 0 : Int32(clamping: ($0.nanoseconds + 999_999) / 1_000_000) }
            return poll(&descriptors, count, milliseconds ?? -1)
        }
        guard let timeout else { return ppoll(&descriptors, count, nil, nil) }
        let nanoseconds = max(0, timeout.nanoseconds)
        var spec = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        return ppoll(&descriptors, count, &spec, nil)
    }

    /// Looked up at run time: Swift's Glibc module declares it only for _GNU_SOURCE.
    private static let ppoll:
        (@convention(c) (UnsafeMutablePointer<pollfd>?, nfds_t, UnsafePointer<timespec>?, UnsafeRawPointer?) -> Int32)? =
            {
                guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ppoll") else { return nil }
                return unsafeBitCast(
                    symbol,
                    to: (@convention(c) (
                        UnsafeMutablePointer<pollfd>?, nfds_t, UnsafePointer<timespec>?, UnsafeRawPointer?
                    ) -> Int32).self)
            }()

    /// Splits a read's bytes into events: `int wd; uint32 mask, cookie, len;` then `len`
    /// bytes of NUL-padded name.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> [RawEvent] {
        var events: [RawEvent] = []
        var offset = 0
        while offset + 16 <= bytes.count {
            let watch = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let cookie = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameBytes = bytes[(offset + 16)..<min(bytes.count, offset + 16 + length)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            events.append(RawEvent(watch: watch, mask: mask, cookie: cookie, name: name))
            offset += 16 + length
        }
        return events
    }
}
