import Logging
import ProcessRunner
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The process's roles as services of one `ServiceGroup`, with the one handler of SIGINT and
/// SIGTERM in the process (DESIGN §2, §10): the first signal starts a graceful shutdown of
/// every service, last started first; a second one ends the process at once with status 130,
/// taking every child process (servers, build jobs, their process groups) with it.
/// A service that returns or throws stops the others the same way. No role installs a signal
/// handler of its own, so several can share one process (`cp up`).
enum RoleGroup {
    /// Runs `services` until every one has ended; true when a signal stopped them. The first
    /// error a service threw is rethrown once all have stopped.
    static func run(_ services: [any Service], logger: Logger) async throws -> Bool {
        // Trapped before any service starts: a signal that comes early is not lost.
        let signals = Signals(await UnixSignalsSequence(trapping: .sigterm, .sigint), logger: logger)
        let configurations =
            [ServiceGroupConfiguration.ServiceConfiguration(service: signals, serviceName: "signals")]
            + services.map {
                .init(
                    service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            }
        let group = ServiceGroup(configuration: .init(services: configurations, logger: logger))
        signals.group.withLock { $0 = group }
        try await group.run()
        return signals.received
    }

    /// The signal handler, as the group's first service (so it is shut down last, once every
    /// role has stopped): the first signal shuts the group down gracefully, a second one exits.
    final class Signals: Service {
        private let sequence: UnixSignalsSequence
        private let logger: Logger
        private let count = Atomic<Int>(0)
        let group = Mutex<ServiceGroup?>(nil)

        init(_ sequence: UnixSignalsSequence, logger: Logger) {
            self.sequence = sequence
            self.logger = logger
        }

        /// Whether a shutdown signal has arrived.
        var received: Bool { count.load(ordering: .acquiring) > 0 }

        func run() async throws {
            for await _ in sequence.cancelOnGracefulShutdown() {
                if count.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue >= 2 {
                    killEveryChild()
                    _exit(ExitStatus.interrupted.rawValue)
                }
                logger.notice("stopping (interrupt again to stop at once)")
                await group.withLock { $0 }?.triggerGracefulShutdown()
            }
        }
    }
}
