import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import CPCommand

#if canImport(Glibc)
    import Glibc
#endif

/// The order in which services stopped.
final class StopLog: Sendable {
    let names = Mutex<[String]>([])
}

/// A service that runs until its graceful shutdown and records when it stopped.
final class RecordingService: Service {
    let name: String
    let log: StopLog
    let started = Atomic<Bool>(false)
    private let (stopped, stop) = AsyncStream.makeStream(of: Void.self)

    init(_ name: String, log: StopLog) {
        self.name = name
        self.log = log
    }

    func run() async throws {
        started.store(true, ordering: .releasing)
        let stop = stop
        await withGracefulShutdownHandler {
            for await _ in stopped {}
        } onGracefulShutdown: {
            stop.finish()
        }
        log.names.withLock { $0.append(name) }
    }
}

/// A service that finishes by itself.
struct FinishingService: Service {
    func run() async throws {}
}

/// Several roles in one process, one signal handler (`cp up`'s shape).
@Suite(.serialized) struct RoleGroupTests {
    @Test func oneSIGTERMStopsEveryServiceGracefullyLastStartedFirst() async throws {
        let log = StopLog()
        let first = RecordingService("first", log: log), second = RecordingService("second", log: log)
        let group = Task { try await RoleGroup.run([first, second], logger: Logger(label: "test")) }
        // A generous deadline: at the start of a full run hundreds of tests share two threads.
        try await waitUntil(deadline: .seconds(120), "both services to start") {
            first.started.load(ordering: .acquiring) && second.started.load(ordering: .acquiring)
        }
        kill(getpid(), SIGTERM)
        let interrupted = try await group.value
        #expect(interrupted)
        #expect(log.names.withLock { $0 } == ["second", "first"])
    }

    @Test func aServiceThatEndsStopsTheOthersWithoutASignal() async throws {
        let log = StopLog()
        let waiting = RecordingService("waiting", log: log)
        let interrupted = try await RoleGroup.run([waiting, FinishingService()], logger: Logger(label: "test"))
        #expect(!interrupted)
        #expect(log.names.withLock { $0 } == ["waiting"])
    }
}
