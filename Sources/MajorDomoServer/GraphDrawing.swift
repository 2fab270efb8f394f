import CPModel
import Foundation
import Hummingbird
import ProcessRunner

/// `GET /graph/<p>?format=svg`: the DOT export drawn by Graphviz (`dot`, or `sfdp` above
/// `GraphDrawing.largeGraph` nodes, where `dot`'s layout takes minutes), as the web page shows
/// it. Graphviz is optional: without it the answer is a 501 naming the package, and the page
/// lists the graph in build order instead.
public struct GraphDrawing: Sendable {
    /// Where the Graphviz programs are looked for (nil: `$PATH` and the usual directories).
    public var searchPath: [String]?
    /// How long one drawing may take.
    public var timeout: Duration = .seconds(120)

    public init(searchPath: [String]? = nil) { self.searchPath = searchPath }

    /// Above this many nodes (tasks and artefacts) the layout is `sfdp`'s.
    public static let largeGraph = 1000

    /// `dot` (the DOT text) as SVG, laid out for `nodes` nodes.
    func svg(_ dot: String, nodes: Int) async throws -> String {
        let program = nodes > Self.largeGraph ? "sfdp" : "dot"
        let path: String
        do {
            path = try Executables.locate(program, searchPath: searchPath)
        } catch {
            throw HTTPError(
                .notImplemented,
                message:
                    "drawing the graph needs Graphviz's '\(program)': apt-get install graphviz (or ask for format=dot)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cp-graph-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try dot.write(toFile: directory + "/graph.dot", atomically: false, encoding: .utf8)
        let spec = CommandRunner.Spec(
            argv: [path, "-Tsvg", "-o", directory + "/graph.svg", directory + "/graph.dot"], directory: directory,
            environment: CommandRunner.cleanEnvironment([:]), timeout: timeout)
        let outcome = try await blockingCall("graphviz") { () throws(ProcessError) in try CommandRunner.run(spec) }
        guard outcome.succeeded, let svg = try? String(contentsOfFile: directory + "/graph.svg", encoding: .utf8)
        else {
            let said = outcome.lines.first { $0.stream == .stderr }?.text ?? "exit status \(outcome.status)"
            throw HTTPError(
                .internalServerError,
                message: outcome.timedOut
                    ? "\(program) took longer than \(timeout) to draw the graph" : "\(program) failed: \(said)")
        }
        return svg
    }
}
