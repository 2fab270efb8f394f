import Foundation
import RulesManager

/// What the scheduler hands out and reports: jobs to run, failures, events.
extension Scheduler {
    public struct Job: Sendable, Equatable {
        public var task: Int32
        public var name: String
        public var argv: [String]
        public var outputs: [String]
        /// 1 for an acyclic task; the pass number in a cyclic component.
        public var pass: Int
        /// Why it runs ("never built", "input 'paper.aux' changed", …).
        public var reason: String
        /// Where its tool reports what it read (its rule's `discover`), if it does.
        public var discovery: DiscoveryFile? = nil
        /// Where its tool writes before its files are moved into place (its rule's
        /// `{{stage}}`), relative to the project root, if it does.
        public var stage: String? = nil
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case taskFailed(task: String, message: String)
        case missingOutputs(task: String, paths: [String])
        case missingInput(task: String, path: String)
        case notConverged(tasks: [String], passes: Int, changing: [String])
        case oscillates(tasks: [String], period: Int, changing: [String])
        case store(String)

        public var description: String {
            switch self {
            case .taskFailed(let task, let message): return "task '\(task)' failed: \(message)"
            case .missingOutputs(let task, let paths):
                return "task '\(task)' succeeded but did not write \(paths.map { "'\($0)'" }.joined(separator: ", "))"
            case .missingInput(let task, let path):
                return "task '\(task)' needs '\(path)', which does not exist and which no task makes"
            case .notConverged(let tasks, let passes, let changing):
                return
                    "the cycle \(tasks.joined(separator: ", ")) did not converge in \(passes) passes; still changing: \(changing.joined(separator: ", "))"
            case .oscillates(let tasks, let period, let changing):
                return
                    "the cycle \(tasks.joined(separator: ", ")) oscillates with period \(period) (the same state comes back every \(period) passes); changing: \(changing.joined(separator: ", "))"
            case .store(let message): return "cannot record the build state: \(message)"
            }
        }
    }

    /// A cyclic component in a build: its passes and how it ends (the web page's "pass 2 of
    /// ≤5", "converged in 3 passes", "oscillates with period 2").
    public struct CycleProgress: Codable, Sendable, Equatable {
        public enum State: String, Codable, Sendable {
            case waiting, running, converged, upToDate, oscillates, notConverged, failed
        }
        /// Its tasks, in the order each pass runs them.
        public var tasks: [String]
        /// The pass it is in, or ended in (0: not started).
        public var pass: Int
        public var maxPasses: Int
        public var state: State = .waiting
        /// Of an oscillation: after how many passes the same state comes back.
        public var period: Int? = nil
        /// Of an oscillation or a cycle that did not converge: the artefacts still changing.
        public var changing: [String]? = nil

        public init(
            tasks: [String], pass: Int, maxPasses: Int, state: State = .waiting, period: Int? = nil,
            changing: [String]? = nil
        ) {
            self.tasks = tasks
            self.pass = pass
            self.maxPasses = maxPasses
            self.state = state
            self.period = period
            self.changing = changing
        }
    }

    /// What happened, for the build's summary.
    public enum Event: Sendable, Equatable {
        /// A cyclic component in which something ran has settled after `passes` passes.
        case converged(component: Int, passes: Int)
    }
}
