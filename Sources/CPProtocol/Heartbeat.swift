/// The body of `heartbeat.<role>.<name>` (DESIGN §3): every long-running role publishes it
/// every 10 s by default, so the MajorDomo and `cp ctrl monitor` know who is alive.
public struct HeartbeatPayload: Codable, Sendable, Equatable {
    /// Jobs running now and the most that may run at once.
    public struct Jobs: Codable, Sendable, Equatable {
        public var running: Int
        public var capacity: Int

        public init(running: Int, capacity: Int) {
            self.running = running
            self.capacity = capacity
        }
    }

    /// Load averages over 1, 5 and 15 minutes.
    public var load: [Double]
    public var jobs: Jobs
    /// When the role started, ISO 8601 in UTC.
    public var startedAt: String
    /// The cp version the role runs.
    public var version: String

    public init(load: [Double], jobs: Jobs, startedAt: String, version: String) {
        self.load = load
        self.jobs = jobs
        self.startedAt = startedAt
        self.version = version
    }
}
