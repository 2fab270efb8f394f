import ArtefactManager
import CPModel
import DependencyGraph
import Foundation
import Hashing

/// A project's files as the watchers and the Chefs reported them, for the scheduler, looked at
/// by path (the MajorDomo never reads a project's directory: it may be on another pod). The
/// coordinator keeps one per project and its builds read it as reports come; the scheduler
/// itself looks at a file once until a task that writes it has run.
final class ReportedFileStates: FileStates {
    private(set) var files: [String: Artefact]
    /// Digests parsed from their hex, by path, with the hex they came from (a large project's
    /// build looks at tens of thousands of files, most of them unchanged since the last).
    private var parsed: [String: (hex: String, digest: SHA256Digest)] = [:]

    init(_ files: [String: Artefact]) { self.files = files }

    func digest(_ path: String) -> SHA256Digest? {
        guard let hex = files[path]?.sha256 else { return nil }
        if let known = parsed[path], known.hex == hex { return known.digest }
        guard let digest = SHA256Digest(hex: hex) else { return nil }
        parsed[path] = (hex, digest)
        return digest
    }

    func invalidate(_ path: String) {}

    /// Changes the files in place.
    func mutate(_ change: (inout [String: Artefact]) -> Void) { change(&files) }
}

/// What `GET /why/<p>/<path>` answers.
public struct WhyReply: Codable, Sendable, Equatable {
    public var path: String
    /// One line per step, from the file's producer up to what would be rebuilt first.
    public var explanation: [String]
}

/// Why an artefact is out of date, from the MajorDomo's own state: the files as reported and
/// the task records of its builds (DESIGN §5's `why`, as `cp graph why` says it offline).
extension Coordinator {
    /// The records of project `name`'s task runs: `records/<name>.db` beside the state.
    func recordsPath(_ name: String) -> String {
        (storePath as NSString).deletingLastPathComponent + "/records/\(name).db"
    }

    /// Why `path` of project `name` would be rebuilt, or that it is up to date.
    public func why(_ name: String, _ path: String) async throws(MajorDomoError) -> WhyReply {
        try requireProject(name)
        guard let project = projectGraph(name) else {
            throw .unprocessable("project '\(name)' has no graph: its definitions did not load")
        }
        let (files, records) = (self.files(of: name), recordsPath(name))
        let answer: Result<(String, Bool), MajorDomoError> = await onThreadOfItsOwn("cp-why") {
            do {
                let store = try SQLiteBuildStateStore(path: records)
                let scheduler = Scheduler(
                    graph: project.graph, components: project.components, store: store,
                    files: ReportedFileStates(files))
                return .success(scheduler.explain(path))
            } catch {
                return .failure(.failure("cannot read the records of project '\(name)': \(error)"))
            }
        }
        let (text, known) = try answer.get()
        guard known else { throw .notFound(text) }
        return WhyReply(path: path, explanation: text.split(separator: "\n").map(String.init))
    }
}
