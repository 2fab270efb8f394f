import CPProtocol
import NATSClient

/// The jobs' work queue (DESIGN §3), as both its ends make sure of it: the stream `CP_JOBS`
/// capturing `build.from.>` with work-queue retention (each job is stored until one Chef of
/// its kind acknowledges it), and one durable pull consumer per kind of Chef.
enum WorkQueue {
    static let stream = "CP_JOBS"
    /// The stream that captures the Chefs' results for the MajorDomo.
    static let resultStream = "CP_RESULTS"

    /// Makes the stream, or brings it to this configuration.
    static func ensureStream(_ client: NATSClient) async throws {
        var config = StreamConfig(name: stream, subjects: [Subjects.buildFromAll])
        config.retention = .workQueue
        try await JetStream(client.bulk).createOrUpdateStream(config)
    }

    /// The durable consumer the Chefs of `kind` share.
    static func consumer(of kind: String) -> String { "chef-" + SubjectToken.escape(kind) }
}
