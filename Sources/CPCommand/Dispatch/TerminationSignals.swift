import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// SIGINT and SIGTERM for a long-running role (DESIGN §10): the default action (die at once)
/// is replaced by `handler`, called once on a dispatch queue, so the role can stop cleanly and
/// exit 130. A second signal while stopping ends the process at once.
final class TerminationSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var received: Int32?

    /// The signal that arrived, if one did.
    var signal: Int32? { lock.withLock { received } }

    init(_ handler: @escaping @Sendable (Int32) -> Void) {
        for number in [SIGINT, SIGTERM] {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                let first = lock.withLock { () -> Bool in
                    defer { received = received ?? number }
                    return received == nil
                }
                if first { handler(number) } else { _exit(ExitStatus.interrupted.rawValue) }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Gives the signals their default action back.
    func cancel() {
        for source in sources { source.cancel() }
        Glibc.signal(SIGINT, SIG_DFL)
        Glibc.signal(SIGTERM, SIG_DFL)
    }
}
