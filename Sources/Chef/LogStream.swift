import CPProtocol
import Foundation
import ProcessRunner
import Synchronization

/// A running job's output (DESIGN §7): every line written to the job's log file, and streamed
/// in batches on `logger.<project>.<task>` — at most one batch per stream change and flush
/// (the executor flushes every 100 ms, or when many lines wait), up to `limit` bytes; beyond
/// that one note says where the whole log is, and the rest stays in the file.
public final class LogStream: Sendable {
    struct State {
        var pending: [CommandRunner.Line] = []
        var streamed = 0
        var truncated = false
        /// Opened at the first line: a job that prints nothing leaves no file.
        var file: Int32 = -1
        var opened = false
    }

    private let state: Mutex<State>
    private let job: Job
    private let limit: Int
    private let note: String
    private let publish: @Sendable (LogLines) -> Void
    private let path: String
    /// Lines waiting that make a flush happen at once.
    static let batchLines = 500
    /// A message stays well under NATS' 1 MiB payload limit: batches of about 256 KiB, a line
    /// streamed cut at 16 KiB (the file keeps it whole).
    static let batchBytes = 256 * 1024
    static let lineBytes = 16 * 1024

    /// `file` receives every line (made at the first); `publish` sends a batch.
    public init(
        job: Job, file: String, limit: Int, chef: String, publish: @escaping @Sendable (LogLines) -> Void
    ) {
        state = Mutex(State())
        path = file
        self.job = job
        self.limit = limit
        self.publish = publish
        note = "[cp chef: the log is cut here after \(limit / 1024) KiB; the whole of it is in \(file) on chef \(chef)]"
    }

    /// One line from the command (on the thread that runs it).
    public func add(_ line: CommandRunner.Line) {
        let full = state.withLock { state -> Bool in
            if !state.opened {
                state.opened = true
                state.file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                if state.file < 0 && errno == ENOENT {
                    try? FileManager.default.createDirectory(
                        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    state.file = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                }
            }
            if state.file >= 0 {
                var text = line.text
                text.append("\n")
                text.withUTF8 { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(state.file, bytes.baseAddress! + offset, bytes.count - offset)
                        if written < 0 && errno == EINTR { continue }
                        guard written > 0 else { break }
                        offset += written
                    }
                }
            }
            guard !state.truncated else { return false }
            state.pending.append(line)
            return state.pending.count >= Self.batchLines
        }
        if full { flush() }
    }

    /// Sends what waits, one message per run of lines of one stream.
    public func flush() {
        let batches = state.withLock { state -> [LogLines] in
            guard !state.pending.isEmpty else { return [] }
            var batches: [LogLines] = []
            var batchBytes = 0
            for var line in state.pending {
                if line.text.utf8.count > Self.lineBytes {
                    line.text = String(decoding: line.text.utf8.prefix(Self.lineBytes), as: UTF8.self) + "…"
                }
                if state.streamed + line.text.utf8.count + 1 > limit {
                    state.truncated = true
                    batches.append(LogLines(jobId: job.jobId, task: job.task, stream: .stderr, lines: [note]))
                    break
                }
                state.streamed += line.text.utf8.count + 1
                let stream: LogLines.Stream = line.stream == .stdout ? .stdout : .stderr
                if let last = batches.last, last.stream == stream, batchBytes < Self.batchBytes {
                    batches[batches.count - 1].lines.append(line.text)
                    batchBytes += line.text.utf8.count
                } else {
                    batches.append(LogLines(jobId: job.jobId, task: job.task, stream: stream, lines: [line.text]))
                    batchBytes = line.text.utf8.count
                }
            }
            state.pending.removeAll(keepingCapacity: true)
            return batches
        }
        for batch in batches { publish(batch) }
    }

    /// The last flush; the log file is closed.
    public func finish() {
        flush()
        state.withLock { state in
            if state.file >= 0 { close(state.file) }
            state.file = -1
        }
    }
}
