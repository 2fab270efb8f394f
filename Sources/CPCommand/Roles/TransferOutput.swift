import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The progress line of `cp sftp`: bytes, rate and ETA on stderr, redrawn at most ten times
/// a second, only when stderr is a terminal and `--quiet` is not given.
struct TransferOutput: Sendable {
    let enabled: Bool

    init(quiet: Bool) {
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    func progress(for name: String) -> ProgressLine { ProgressLine(name: name, enabled: enabled) }
}

/// One file's progress line.
final class ProgressLine: @unchecked Sendable {
    private let name: String
    private let enabled: Bool
    private let started = ContinuousClock.now
    private var lastDrawn = ContinuousClock.now - .seconds(1)
    private var drawn = false
    private let lock = NSLock()

    init(name: String, enabled: Bool) {
        self.name = name
        self.enabled = enabled
    }

    /// Called by the transfer with bytes done and total.
    var update: (@Sendable (UInt64, UInt64) -> Void)? {
        guard enabled else { return nil }
        return { [self] done, total in draw(done, total, force: false) }
    }

    /// Ends the line.
    func finish() {
        lock.withLock {
            if drawn { Output.err("\n") }
        }
    }

    private func draw(_ done: UInt64, _ total: UInt64, force: Bool) {
        lock.withLock {
            let now = ContinuousClock.now
            guard force || now - lastDrawn >= .milliseconds(100) || done == total else { return }
            lastDrawn = now
            drawn = true
            let elapsed = max(0.001, (now - started).inSeconds)
            let rate = Double(done) / elapsed
            let eta = rate > 0 ? Double(total - min(done, total)) / rate : 0
            Output.err(
                "\r\(name)  \(Self.bytes(done)) / \(Self.bytes(total))  \(Self.bytes(UInt64(rate)))/s  ETA \(Int(eta.rounded()))s\u{1B}[K"
            )
        }
    }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
