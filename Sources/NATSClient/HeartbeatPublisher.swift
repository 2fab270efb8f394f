import CPProtocol
import Foundation

/// Publishes `heartbeat.<role>.<name>` every `interval` until cancelled (DESIGN §3).
public enum HeartbeatPublisher {
    /// Starts publishing at once and then every `interval`; `jobs` is asked each time.
    /// A failed publish is logged and retried at the next beat: a heartbeat is never worth
    /// stopping a role for.
    public static func start(
        _ client: NATSClient, interval: Duration, version: String,
        jobs: @escaping @Sendable () -> HeartbeatPayload.Jobs = { .init(running: 0, capacity: 0) }
    ) -> Task<Void, Never> {
        let subject = Subjects.heartbeat(role: client.sender.role, name: client.sender.name)
        // With milliseconds: a role started again within the second is told apart by it.
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let startedAt = formatter.string(from: Date())
        return Task {
            while !Task.isCancelled {
                let beat = HeartbeatPayload(load: loadAverages(), jobs: jobs(), startedAt: startedAt, version: version)
                do {
                    try client.publish(subject, beat)
                } catch {
                    client.logger.warning("cannot publish a heartbeat", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// The 1, 5 and 15 minute load averages (zeros if the system will not say).
    static func loadAverages() -> [Double] {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) == 3 ? loads : [0, 0, 0]
    }
}
