import CPProtocol

/// Why a job could not be run or did not succeed: one line for the result's `details`.
public struct JobFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// `cancelled` for a job stopped by `build.cancel`, else `failed`.
    public var outcome: JobResult.Outcome

    public init(_ message: String, outcome: JobResult.Outcome = .failed) {
        self.message = message
        self.outcome = outcome
    }

    public var description: String { message }
}
